/* SPDX-License-Identifier: MIT */
/* `tlswatchctl discover`: the files behind broker-config.c's pure readers (optionally under --root, as a
 * mounted image is read), the check whether a listener's cacertfile issued its certificate (for a
 * CAFile= hint), the default locations, and --write's atomic drop-in. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker-config.h"
#include "cert-file.h"
#include "discover.h"
#include "file-util.h"
#include "log.h"
#include "macro.h"

#define CONFIG_FILE_MAX (4 * 1024 * 1024)

typedef struct Root {
        const char *root; /* NULL: / */
} Root;

static char *rooted(const Root *r, const char *path) {
        char *s = NULL;
        if (!path)
                return NULL;
        if (!r->root || path[0] != '/')
                return strdup(path);
        if (asprintf(&s, "%s%s", r->root, path) < 0)
                return NULL;
        return s;
}

static int files_read(void *userdata, const char *path, char **ret_text) {
        _cleanup_free_ char *p = rooted(userdata, path);
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return read_full_file(p, CONFIG_FILE_MAX, ret_text);
}

static int not_dot_or_dotdot(const struct dirent *entry) {
        return strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
}

/* The names in `directory` (the caller sorts them again, as the broker does); at most 4096 of them. */
static int files_list(void *userdata, const char *directory, char ***ret_names, size_t *ret_n) {
        _cleanup_free_ char *p = rooted(userdata, directory);
        struct dirent **entries = NULL;
        char **names = NULL;
        int n, r = 0;

        if (!p)
                return -ENOMEM;
        n = scandir(p, &entries, not_dot_or_dotdot, alphasort);
        if (n < 0)
                return -errno;
        names = n <= 4096 ? calloc((size_t) n ?: 1, sizeof(char *)) : NULL;
        if (!names)
                r = n > 4096 ? -E2BIG : -ENOMEM;
        for (int i = 0; names && r == 0 && i < n; i++)
                if (!(names[i] = strdup(entries[i]->d_name)))
                        r = -ENOMEM;
        for (int i = 0; i < n; i++)
                free(entries[i]);
        free(entries);
        if (r < 0) {
                for (int i = 0; names && i < n; i++)
                        free(names[i]);
                free(names);
                return r;
        }
        *ret_names = names;
        *ret_n = (size_t) n;
        return 0;
}

/* Whether the certificates in the cacertfile verify the certfile's leaf (with its intermediates), times
 * aside: then a client trusting that file trusts the listener. */
static void check_ca(const Root *root, BrokerListener *l) {
        _cleanup_(cert_file_freep) CertFile *cert = NULL, *ca = NULL;
        _cleanup_free_ char *cert_path = rooted(root, l->certfile), *ca_path = rooted(root, l->cacertfile);
        STACK_OF(X509) *chain = NULL, *anchors = NULL;
        X509_STORE *store = NULL;
        X509_STORE_CTX *ctx = NULL;
        int r;

        if (l->certfile[0] != '/' || l->cacertfile[0] != '/' || !cert_path || !ca_path)
                return;
        r = cert_file_load(cert_path, &cert);
        if (r >= 0)
                r = cert_file_load(ca_path, &ca);
        if (r < 0) {
                snprintf(l->ca_hint_reason, sizeof(l->ca_hint_reason), "not checked: %s", strerror(-r));
                return;
        }
        chain = cert_file_certificates(cert);
        anchors = cert_file_certificates(ca);
        if (!chain || !anchors) {
                snprintf(l->ca_hint_reason, sizeof(l->ca_hint_reason),
                         "not checked: no certificate in %.200s", chain ? l->cacertfile : l->certfile);
                goto finish;
        }
        store = X509_STORE_new();
        ctx = X509_STORE_CTX_new();
        if (!store || !ctx)
                goto finish;
        for (int i = 0; i < sk_X509_num(anchors); i++)
                (void) X509_STORE_add_cert(store, sk_X509_value(anchors, i));
        X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
        if (X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), chain) != 1)
                goto finish;
        l->ca_hint = X509_verify_cert(ctx) == 1 ? BROKER_CA_SERVES : BROKER_CA_DOES_NOT_SERVE;
finish:
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        sk_X509_pop_free(chain, X509_free);
        sk_X509_pop_free(anchors, X509_free);
}

static int write_contents(FILE *f, void *userdata) {
        const char *text = userdata;
        return fputs(text, f) < 0 ? -EIO : 0;
}

static void usage(void) {
        log_error("usage: discover [--mosquitto FILE]... [--emqx FILE]... [--etc-dir DIR] [--data-dir DIR]\n"
                  "                [--host NAME] [--root DIR] [--write DIR/conf.d/NAME.conf [--force]]");
}

int discover_run(int argc, char **argv) {
        static const struct option options[] = {
                { "mosquitto", required_argument, NULL, 'm' },
                { "emqx", required_argument, NULL, 'e' },
                { "etc-dir", required_argument, NULL, 'E' },
                { "data-dir", required_argument, NULL, 'D' },
                { "host", required_argument, NULL, 'H' },
                { "root", required_argument, NULL, 'R' },
                { "write", required_argument, NULL, 'w' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        struct {
                BrokerKind kind;
                const char *path;
        } sources[16];
        size_t n_sources = 0;
        const char *host = NULL, *write_path = NULL;
        bool force = false;
        BrokerOptions bo = {};
        Root root = {};
        BrokerListeners ls = {};
        char hostname[256] = "";
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int c, r, status = 3;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                case 'e':
                        if (n_sources >= ELEMENTSOF(sources)) {
                                log_error("discover: at most %zu files", ELEMENTSOF(sources));
                                return 3;
                        }
                        sources[n_sources].kind = c == 'm' ? BROKER_MOSQUITTO : BROKER_EMQX5;
                        sources[n_sources++].path = optarg;
                        break;
                case 'E':
                        bo.etc_dir = optarg;
                        break;
                case 'D':
                        bo.data_dir = optarg;
                        break;
                case 'H':
                        host = optarg;
                        break;
                case 'R':
                        root.root = optarg;
                        break;
                case 'w':
                        write_path = optarg;
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        usage();
                        return 3;
                }
        if (optind < argc) {
                usage();
                return 3;
        }
        if (write_path) {
                size_t n = strlen(write_path);
                if (n < 6 || strcmp(write_path + n - 5, ".conf") != 0 || write_path[n - 6] == '/') {
                        log_error("--write %s: the daemon reads conf.d/*.conf: name the file NAME.conf",
                                  write_path);
                        return 3;
                }
                if (!force && access(write_path, F_OK) == 0) {
                        log_error("--write %s: the file exists; --force replaces it", write_path);
                        return 3;
                }
        }

        /* No file named: the places the packages put them. */
        if (n_sources == 0) {
                static const struct {
                        BrokerKind kind;
                        const char *path;
                } defaults[] = {
                        { BROKER_MOSQUITTO, "/etc/mosquitto/mosquitto.conf" },
                        { BROKER_EMQX5, "/etc/emqx/emqx.conf" },
                        { BROKER_EMQX5, "/opt/emqx/etc/emqx.conf" },
                };
                for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                        _cleanup_free_ char *p = rooted(&root, defaults[i].path);
                        if (p && access(p, F_OK) == 0) {
                                sources[n_sources].kind = defaults[i].kind;
                                sources[n_sources++].path = defaults[i].path;
                        }
                }
                if (n_sources == 0) {
                        log_error("discover: no broker configuration at /etc/mosquitto/mosquitto.conf, "
                                  "/etc/emqx/emqx.conf or /opt/emqx/etc/emqx.conf%s%s; name one with "
                                  "--mosquitto FILE or --emqx FILE",
                                  root.root ? " under " : "", root.root ?: "");
                        return 3;
                }
        }

        BrokerFiles files = { .read = files_read, .list = files_list, .userdata = &root };
        for (size_t i = 0; i < n_sources; i++) {
                _cleanup_free_ char *error = NULL;
                BrokerKind kind = sources[i].kind;
                if (kind != BROKER_MOSQUITTO) {
                        _cleanup_free_ char *t = NULL;
                        r = files_read(&root, sources[i].path, &t);
                        if (r < 0) {
                                log_error("%s: %s", sources[i].path, strerror(-r));
                                goto finish;
                        }
                        kind = broker_emqx_kind(t);
                }
                r = broker_read(kind, sources[i].path, &files, &bo, &ls, &error);
                if (r < 0) {
                        log_error("%s", error ?: strerror(-r));
                        goto finish;
                }
        }
        broker_listeners_name(&ls);
        for (size_t i = 0; i < ls.n; i++)
                check_ca(&root, &ls.items[i]);

        /* A wildcard bind is probed by the host's name (what its clients use), else localhost. */
        if (!host) {
                if (gethostname(hostname, sizeof(hostname) - 1) < 0 || !hostname[0] ||
                    strcmp(hostname, "(none)") == 0)
                        snprintf(hostname, sizeof(hostname), "localhost");
                host = hostname;
        }

        FILE *out = open_memstream(&text, &size);
        if (!out) {
                log_error("discover: out of memory");
                goto finish;
        }
        fprintf(out, "# Written by tlswatchctl discover from");
        for (size_t i = 0; i < n_sources; i++)
                fprintf(out, " %s", sources[i].path);
        fprintf(out, "\n\n");
        size_t printed = broker_format(&ls, host, out);
        if (fclose(out) != 0) {
                log_error("discover: out of memory");
                goto finish;
        }
        if (printed == 0) {
                log_error("%s%s: no TLS listener found (a listener needs a port and a certfile)",
                          sources[0].path, n_sources > 1 ? " and the others" : "");
                goto finish;
        }
        if (!write_path) {
                fputs(text, stdout);
                status = 0;
                goto finish;
        }
        r = write_file_atomic_stream(write_path, 0644, write_contents, text);
        if (r < 0) {
                log_error("--write %s: %s", write_path, strerror(-r));
                goto finish;
        }
        fprintf(stderr, "%s: %zu target%s written; check it with tlswatchd --check-config, then reload\n",
                write_path, printed, printed == 1 ? "" : "s");
        status = 0;
finish:
        broker_listeners_done(&ls);
        return status;
}
