/* SPDX-License-Identifier: MIT */
/* What a broker's own configuration says about its TLS listeners: Mosquitto (mosquitto.conf with its
 * include_dir), EMQX 4 (emqx.conf and plugins/emqx_dashboard.conf) and EMQX 5 (HOCON, with includes,
 * base.hocon and cluster.hocon layered as EMQX does). Pure: files come through BrokerFiles, so the unit
 * tests hand in text; broker_format() prints the [Target] sections tlswatchd reads. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BROKER_LISTENERS_MAX 256
#define BROKER_PATH_MAX 1024

typedef enum BrokerKind {
        BROKER_MOSQUITTO,
        BROKER_EMQX4,
        BROKER_EMQX5,
        _BROKER_KIND_MAX,
        _BROKER_KIND_INVALID = -EINVAL,
} BrokerKind;

/* Whether the listener's cacertfile issued its certificate, so that it serves as CAFile=: only the
 * caller, which can read the files, knows. */
typedef enum BrokerCAHint {
        BROKER_CA_UNKNOWN,
        BROKER_CA_SERVES,
        BROKER_CA_DOES_NOT_SERVE,
} BrokerCAHint;

typedef struct BrokerListener {
        char name[129];   /* the target's name: mosquitto-mqtts-8883, emqx-wss-default */
        char role[16];    /* mqtts, wss, https */
        char protocol[8]; /* Protocol= */
        char host[256];   /* the bind address; empty for a wildcard */
        unsigned port;    /* 0: none could be read (or a Unix socket) */
        char path[256];   /* wss: the MQTT path; empty for the broker's default */
        char certfile[BROKER_PATH_MAX];
        char keyfile[BROKER_PATH_MAX];
        char cacertfile[BROKER_PATH_MAX];
        bool client_certificate_required;
        bool disabled;                     /* enabled = false: only named in a comment */
        char source[BROKER_PATH_MAX + 16]; /* file:line where the listener is defined */
        BrokerCAHint ca_hint;
        char ca_hint_reason[256];
} BrokerListener;

typedef struct BrokerListeners {
        BrokerListener *items;
        size_t n, n_allocated;
} BrokerListeners;

/* The caller's file system: whole files, and the names in a directory (without "." and ".."). Both
 * return 0 or a negative errno (-ENOENT for a file that is not there). */
typedef struct BrokerFiles {
        int (*read)(void *userdata, const char *path, char **ret_text);
        int (*list)(void *userdata, const char *directory, char ***ret_names, size_t *ret_n);
        void *userdata;
} BrokerFiles;

typedef struct BrokerOptions {
        const char *etc_dir;  /* EMQX's ${EMQX_ETC_DIR}; NULL: the directory of the file read */
        const char *data_dir; /* EMQX 5's data directory (cluster.hocon); NULL: node.data_dir */
} BrokerOptions;

/* EMQX 4 or 5, from the text of its emqx.conf: EMQX 4's has cuttlefish's listener.* keys and no braces. */
BrokerKind broker_emqx_kind(const char *text);

/* Mosquitto's order for include_dir: case-insensitive, an upper-case letter before its lower case. */
int broker_mosquitto_compare(const char *a, const char *b);

/* Reads the configuration at `path` and its includes, and appends its listeners (TLS or not) to `ls`.
 * Returns 0, -ENOMEM, or another negative errno with "file:line: why" in *ret_error. */
int broker_read(BrokerKind kind, const char *path, const BrokerFiles *files, const BrokerOptions *options,
                BrokerListeners *ls, char **ret_error);

/* Gives every listener a target name no other has (a second mosquitto-mqtts-8883 becomes ...-2). */
void broker_listeners_name(BrokerListeners *ls);

/* Prints one [Target] section per enabled TLS listener; a wildcard bind address becomes `host`.
 * Returns how many sections were printed. */
size_t broker_format(const BrokerListeners *ls, const char *host, FILE *out);

void broker_listeners_done(BrokerListeners *ls);
