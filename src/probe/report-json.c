/* SPDX-License-Identifier: MIT */
/* Builds the JSON contract documented in tlswatchctl(1). Members that do not apply are left out
 * rather than set to null (depth, verify_code, tls), so consumers can test for presence. */
#include <errno.h>

#include "report-json.h"

/* jansson's *_new() return NULL on allocation failure, and json_object_set_new() accepts a NULL value
 * and fails; so each builder checks once at the end. */
static json_t *problems_to_json(const ProblemList *list) {
        json_t *array = json_array();

        for (size_t i = 0; array && i < list->n; i++) {
                const Problem *p = &list->items[i];
                /* A finding that changes no status (root_in_certfile) is a note. */
                json_t *o = json_pack("{s:s, s:s, s:s}", "code", problem_code_to_string(p->code), "severity",
                                      p->severity == STATUS_OK ? "note" : status_to_string(p->severity), "message",
                                      p->message);
                if (!o)
                        goto fail;
                if ((p->depth >= 0 && json_object_set_new(o, "depth", json_integer(p->depth)) < 0) ||
                    (p->verify_code >= 0 && json_object_set_new(o, "verify_code", json_integer(p->verify_code)) < 0) ||
                    json_array_append_new(array, o) < 0) {
                        json_decref(o);
                        goto fail;
                }
        }
        return array;

fail:
        json_decref(array);
        return NULL;
}

json_t *certificate_info_to_json(const CertificateInfo *c) {
        return json_pack("{s:i, s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:s, s:s?, s:b}", "depth", c->depth, "subject",
                         c->subject, "issuer", c->issuer, "not_before", c->not_before, "not_after", c->not_after,
                         "days_left", c->days_left, "sha256", c->sha256, "key", c->key, "signature_algorithm",
                         c->signature_algorithm, "subject_alt_names", c->subject_alt_names, "sent", c->sent);
}

static json_t *application_to_json(const char *protocol, const ApplicationReport *app) {
        json_t *o = json_pack("{s:s, s:f}", "protocol", protocol, "duration_ms", (double) app->duration_usec / 1e3);

        if (!o)
                return NULL;
        if ((app->http_status >= 0 && json_object_set_new(o, "http_status", json_integer(app->http_status)) < 0) ||
            (app->websocket_protocol[0] &&
             json_object_set_new(o, "subprotocol", json_string(app->websocket_protocol)) < 0) ||
            (app->mqtt_version >= 0 && json_object_set_new(o, "mqtt_version", json_integer(app->mqtt_version)) < 0) ||
            (app->connack >= 0 && json_object_set_new(o, "connack", json_integer(app->connack)) < 0) ||
            (app->connack_text && json_object_set_new(o, "connack_text", json_string(app->connack_text)) < 0) ||
            (app->first_byte_usec > 0 &&
             json_object_set_new(o, "first_byte_ms", json_real((double) app->first_byte_usec / 1e3)) < 0)) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *address_to_json(const char *protocol, const AddressReport *a) {
        json_t *o = json_pack("{s:s, s:s, s:o*, s:[], s:f}", "address", a->address, "status",
                              status_to_string(a->status), "problems", problems_to_json(&a->problems), "chain",
                              "duration_seconds", (double) a->duration_usec / 1e6);
        if (!o)
                return NULL;

        json_t *chain = json_object_get(o, "chain");
        for (size_t i = 0; i < a->n_chain; i++)
                if (json_array_append_new(chain, certificate_info_to_json(&a->chain[i])) < 0)
                        goto fail;

        if (a->tls_version &&
            json_object_set_new(o, "tls", json_pack("{s:s, s:s}", "version", a->tls_version, "cipher", a->cipher)) < 0)
                goto fail;
        if (a->has_days_left && json_object_set_new(o, "days_left", json_real(a->days_left)) < 0)
                goto fail;
        if (a->protocol_detail && json_object_set_new(o, "protocol_detail", json_string(a->protocol_detail)) < 0)
                goto fail;
        if (a->internal_error && json_object_set_new(o, "internal_error", json_string(a->internal_error)) < 0)
                goto fail;
        if (a->tls_version &&
            json_object_set_new(json_object_get(o, "tls"), "handshake_ms", json_real((double) a->handshake_usec / 1e3)) < 0)
                goto fail;
        if (a->application.present && json_object_set_new(o, "application", application_to_json(protocol, &a->application)) < 0)
                goto fail;
        return o;

fail:
        json_decref(o);
        return NULL;
}

int report_to_json(const Report *report, json_t **ret) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o*, s:[], s:f}", "target", report->target, "server_name",
                              report->server_name, "protocol", report->protocol, "status",
                              status_to_string(report->status), "problems", problems_to_json(&report->problems),
                              "addresses", "duration_seconds", (double) report->duration_usec / 1e6);
        if (!o)
                return -ENOMEM;

        json_t *addresses = json_object_get(o, "addresses");
        for (size_t i = 0; i < report->n_addresses; i++)
                if (json_array_append_new(addresses, address_to_json(report->protocol, &report->addresses[i])) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }

        *ret = o;
        return 0;
}
