/* SPDX-License-Identifier: MIT */
/* Builds the JSON vocabulary documented in tlswatchctl(1). Members that do not apply are left out
 * rather than set to null (depth, verify_code, tls), so consumers can test for presence. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "expiry-policy.h"
#include "crl.h"
#include "report-json.h"
#include "time-util.h"

const char *problem_severity_to_string(Status severity) {
        return severity == STATUS_OK ? "note" : status_to_string(severity);
}

Status problem_severity_from_string(const char *s) {
        if (s && strcmp(s, "note") == 0)
                return STATUS_OK;
        return status_from_string(s);
}

int json_object_set_time(json_t *o, const char *key, int64_t seconds) {
        char text[32], unix_key[64];

        assert(o);
        assert(key);

        snprintf(unix_key, sizeof(unix_key), "%s_unix", key);
        if (json_object_set_new(o, key, json_string(format_timestamp_rfc3339(text, sizeof(text), seconds))) < 0 ||
            json_object_set_new(o, unix_key, json_integer((json_int_t) seconds)) < 0)
                return -ENOMEM;
        return 0;
}

/* jansson's *_new() return NULL on allocation failure, and json_object_set_new() accepts a NULL value
 * and fails; so each builder checks once at the end. */
json_t *problem_to_json(const Problem *p) {
        assert(p);

        json_t *o = json_pack("{s:s, s:s, s:s}", "code", problem_code_to_string(p->code), "severity",
                              problem_severity_to_string(p->severity), "message", p->message);
        if (!o)
                return NULL;
        if ((p->depth >= 0 && json_object_set_new(o, "depth", json_integer(p->depth)) < 0) ||
            (p->verify_code >= 0 && json_object_set_new(o, "verify_code", json_integer(p->verify_code)) < 0)) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *problems_to_json(const ProblemList *list) {
        json_t *array = json_array();

        assert(list);
        for (size_t i = 0; array && i < list->n; i++)
                if (json_array_append_new(array, problem_to_json(&list->items[i])) < 0) {
                        json_decref(array);
                        return NULL;
                }
        return array;
}

int problem_list_add_json(ProblemList *list, json_t *o) {
        const char *code = NULL, *severity = NULL, *message = NULL;
        int depth = -1, verify_code = -1;

        assert(list);

        if (json_unpack(o, "{s:s, s:s, s:s, s?i, s?i}", "code", &code, "severity", &severity, "message", &message,
                        "depth", &depth, "verify_code", &verify_code) < 0)
                return -EBADMSG;
        ProblemCode c = problem_code_from_string(code);
        Status s = problem_severity_from_string(severity);
        if (c < 0 || s < 0)
                return -EBADMSG;
        return problem_list_add(list, c, s, depth, verify_code, "%s", message);
}

json_t *certificate_to_json(const Certificate *c, int depth, bool sent, int64_t at) {
        char sha256[65];

        assert(c);
        certificate_sha256_hex(c, sha256);

        json_t *names = json_array();
        for (size_t i = 0; names && i < c->n_subject_alt_names; i++)
                if (json_array_append_new(names, json_string(c->subject_alt_names[i])) < 0)
                        names = (json_decref(names), NULL);

        /* In the documented order: who, when, then what. json_object_set_new() takes `names` even
         * when it fails; until that call it is still ours to drop. */
        bool names_given = false;
        json_int_t lifetime = c->not_after - c->not_before;
        double left_fraction = expiry_left_fraction(c->not_before, c->not_after, at);
        json_t *o = json_pack("{s:i, s:s, s:s}", "depth", depth, "subject", c->subject, "issuer", c->issuer);
        if (o && (json_object_set_time(o, "not_before", c->not_before) < 0 ||
                  json_object_set_time(o, "not_after", c->not_after) < 0 ||
                  json_object_set_new(o, "days_left", json_real(certificate_days_left(c, at))) < 0 ||
                  json_object_set_new(o, "lifetime_seconds", json_integer(lifetime)) < 0 ||
                  json_object_set_new(o, "lifetime_left_fraction", json_real(left_fraction)) < 0 ||
                  json_object_set_new(o, "sha256", json_string(sha256)) < 0 ||
                  json_object_set_new(o, "key", json_pack("{s:s, s:i}", "type", c->key_type, "bits", c->key_bits)) < 0 ||
                  json_object_set_new(o, "signature_algorithm", json_string(c->signature_algorithm)) < 0 ||
                  (names_given = true, json_object_set_new(o, "subject_alt_names", names) < 0) ||
                  json_object_set_new(o, "sent", json_boolean(sent)) < 0))
                o = (json_decref(o), NULL);
        if (!names_given)
                json_decref(names);
        return o;
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

/* {"status", "reason"?, "revoked_at"?, "crl_next_update"?}: what the certificate's CRL says. */
static json_t *revocation_to_json(const ChainLink *link) {
        json_t *o = json_pack("{s:s}", "status", revocation_to_string(link->revocation));

        if (!o)
                return NULL;
        if (link->revocation == REVOCATION_REVOKED &&
            ((link->revocation_reason >= 0 &&
              json_object_set_new(o, "reason", json_string(crl_reason_to_string(link->revocation_reason))) < 0) ||
             (link->revoked_at != 0 && json_object_set_time(o, "revoked_at", link->revoked_at) < 0))) {
                json_decref(o);
                return NULL;
        }
        if (link->crl_next_update != 0 && json_object_set_time(o, "crl_next_update", link->crl_next_update) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* {"status", "verified", "reason"?, "this_update", "next_update"?}: what the listener stapled. */
static json_t *ocsp_staple_to_json(const OcspStaple *s) {
        json_t *o = json_pack("{s:s, s:b}", "status", revocation_to_string(s->status), "verified", s->verified);

        if (!o)
                return NULL;
        if ((s->status == REVOCATION_REVOKED && s->reason >= 0 &&
             json_object_set_new(o, "reason", json_string(crl_reason_to_string(s->reason))) < 0) ||
            (s->this_update != 0 && json_object_set_time(o, "this_update", s->this_update) < 0) ||
            (s->next_update != 0 && json_object_set_time(o, "next_update", s->next_update) < 0)) {
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
        for (size_t i = 0; i < a->n_chain; i++) {
                json_t *c = certificate_to_json(a->chain[i].certificate, (int) i, a->chain[i].sent, a->checked_at);
                if (json_array_append_new(chain, c) < 0 ||
                    (a->chain[i].revocation != REVOCATION_NOT_CHECKED &&
                     json_object_set_new(c, "revocation", revocation_to_json(&a->chain[i])) < 0))
                        goto fail;
        }

        if (a->ocsp_staple.present && json_object_set_new(o, "ocsp_staple", ocsp_staple_to_json(&a->ocsp_staple)) < 0)
                goto fail;

        if (a->tls_version) {
                json_t *tls = json_pack("{s:s, s:s}", "version", a->tls_version, "cipher", a->cipher ?: "");
                /* "group" where one was negotiated (not with TLS 1.2's RSA key exchange). */
                if (tls && a->group[0] && json_object_set_new(tls, "group", json_string(a->group)) < 0)
                        tls = (json_decref(tls), NULL);
                if (tls && json_object_set_new(tls, "handshake_ms",
                                               json_real((double) a->handshake_usec / 1e3)) < 0)
                        tls = (json_decref(tls), NULL);
                if (json_object_set_new(o, "tls", tls) < 0)
                        goto fail;
        }
        if (a->has_days_left && json_object_set_new(o, "days_left", json_real(a->days_left)) < 0)
                goto fail;
        if (a->protocol_detail && json_object_set_new(o, "protocol_detail", json_string(a->protocol_detail)) < 0)
                goto fail;
        if (a->internal_error && json_object_set_new(o, "internal_error", json_string(a->internal_error)) < 0)
                goto fail;
        if (a->application.present && json_object_set_new(o, "application", application_to_json(protocol, &a->application)) < 0)
                goto fail;
        return o;

fail:
        json_decref(o);
        return NULL;
}

int report_to_json(const Report *report, json_t **ret) {
        assert(report);
        assert(ret);

        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o*, s:[], s:f}", "schema", REPORT_JSON_SCHEMA, "target",
                              report->target, "server_name", report->server_name, "protocol", report->protocol,
                              "status", status_to_string(report->status), "problems",
                              problems_to_json(&report->problems), "addresses", "duration_seconds",
                              (double) report->duration_usec / 1e6);
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
