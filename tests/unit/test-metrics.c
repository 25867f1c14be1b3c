/* SPDX-License-Identifier: MIT */
/* The Prometheus exposition of the targets' state and reports: every line for a hand-made fleet (a healthy target
 * with a three-certificate chain, a refused one without TLS, one whose name needs escaping, one never
 * probed), compared word for word, and the format's own rules checked on every output: one HELP and
 * TYPE per family before its samples, escaped label values, Unix times, version labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "metrics.h"
#include "address-util.h"
#include "report-json.h"
#include "time-util.h"

static const struct {
        const char *name, *type;
        bool webhook; /* announced only when a webhooks array is given */
} families[] = {
        { .name = "probe_success", .type = "gauge" },
        { .name = "probe_duration_seconds", .type = "gauge" },
        { .name = "probe_ssl_earliest_cert_expiry", .type = "gauge" },
        { .name = "probe_ssl_last_chain_expiry_timestamp_seconds", .type = "gauge" },
        { .name = "probe_tls_version_info", .type = "gauge" },
        { .name = "tlswatch_tls_group_info", .type = "gauge" },
        { .name = "tlswatch_target_status", .type = "gauge" },
        { .name = "tlswatch_problem", .type = "gauge" },
        { .name = "probe_ssl_last_chain_info", .type = "gauge" },
        { .name = "tlswatch_cert_not_after_seconds", .type = "gauge" },
        { .name = "tlswatch_last_probe_timestamp_seconds", .type = "gauge" },
        { .name = "tlswatch_cert_lifetime_seconds", .type = "gauge" },
        { .name = "tlswatch_cert_lifetime_left_ratio", .type = "gauge" },
        { .name = "tlswatch_certificate_changes_total", .type = "counter" },
        { .name = "tlswatch_certificate_change_kinds_total", .type = "counter" },
        { .name = "tlswatch_targets", .type = "gauge" },
        { .name = "tlswatch_build_info", .type = "gauge" },
        { .name = "tlswatch_crl_fetches_total", .type = "counter" },
        { .name = "tlswatch_crl_fetch_failures_total", .type = "counter" },
        { .name = "tlswatch_crl_cache_hits_total", .type = "counter" },
        { .name = "tlswatch_metrics_timestamp_seconds", .type = "gauge" },
        { .name = "tlswatch_webhook_pending", .type = "gauge", .webhook = true },
        { .name = "tlswatch_webhook_failures_total", .type = "counter", .webhook = true },
        { .name = "tlswatch_webhook_last_success_seconds", .type = "gauge", .webhook = true },
        { .name = "tlswatch_webhook_dead_letters", .type = "gauge", .webhook = true },
        { .name = "tlswatch_webhook_spool_unreadable", .type = "gauge", .webhook = true },
};

/* The fleet, written as the status array the control socket serves (reduced to what metrics read, plus
 * a little noise) and turned into the structs metrics read by fleet_new() below. The healthy target's root comes from the trust store (sent: false);
 * the odd one's intermediate does too and expires first, so the served and the verified chain's
 * earliest notAfter differ. Its third certificate has a date metrics cannot read and is left out. */
static const char fleet_json[] =
        "["
        "{\"name\":\"good\",\"address\":\"127.0.0.1:8883\",\"protocol\":\"mqtt\",\"status\":\"ok\","
        " \"problems\":[],\"last_probe\":\"2026-11-27T10:00:00Z\",\"last_probe_unix\":1795773600.25,\"probes\":4,"
        " \"report\":{\"name\":\"good\",\"target\":\"127.0.0.1:8883\",\"status\":\"ok\",\"problems\":[],"
        "  \"duration_seconds\":0.0131,"
        "  \"addresses\":[{\"address\":\"127.0.0.1\",\"status\":\"ok\",\"problems\":[],\"duration_seconds\":0.0125,"
        "   \"checked_at\":1798329295,"
        "   \"tls\":{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"group\":\"X25519\","
        "    \"handshake_ms\":3.2},"
        "   \"chain\":["
        "    {\"depth\":0,\"subject\":\"CN=good\",\"issuer\":\"CN=int,O=Test \\\"CA\\\"\","
        "     \"subject_alt_names\":[\"good.example\",\"127.0.0.1\"],\"sha256\":\"ab\","
        "     \"not_before\":\"2026-11-26T23:54:55Z\",\"not_after\":\"2027-02-24T23:54:55Z\",\"sent\":true},"
        "    {\"depth\":1,\"subject\":\"CN=int\",\"not_after\":\"2031-11-25T23:29:07Z\",\"sent\":true},"
        "    {\"depth\":2,\"subject\":\"CN=root\",\"not_after\":\"2036-11-23T23:29:07Z\",\"sent\":false}]}]}},"
        "{\"name\":\"down\",\"address\":\"127.0.0.1:9\",\"protocol\":\"tls\",\"status\":\"critical\","
        " \"problems\":[{\"code\":\"connect_failed\",\"severity\":\"critical\",\"message\":\"refused\"}],"
        " \"report\":{\"name\":\"down\",\"status\":\"critical\","
        "  \"problems\":[{\"code\":\"connect_failed\",\"severity\":\"critical\",\"message\":\"refused\"}],"
        "  \"addresses\":[{\"address\":\"127.0.0.1\",\"status\":\"critical\",\"duration_seconds\":0.00025,"
        "   \"problems\":[{\"code\":\"connect_failed\",\"severity\":\"critical\",\"message\":\"refused\"}],"
        "   \"chain\":[]}]}},"
        "{\"name\":\"odd\\\"name\\\\with\\nnewline\",\"address\":\"[::1]:443\",\"protocol\":\"https\","
        " \"status\":\"warning\","
        " \"problems\":[{\"code\":\"expires_soon\",\"severity\":\"warning\",\"message\":\"soon\"}],"
        " \"report\":{\"status\":\"warning\","
        "  \"addresses\":[{\"address\":\"::1\",\"status\":\"warning\",\"duration_seconds\":1.5,"
        "   \"tls\":{\"version\":\"TLSv1\",\"cipher\":\"AES128-SHA\"},"
        "   \"chain\":["
        "    {\"depth\":0,\"not_after\":\"2038-01-19T03:14:08Z\",\"sent\":true},"
        "    {\"depth\":1,\"not_after\":\"2026-01-01T00:00:00Z\",\"sent\":false},"
        "    {\"depth\":2,\"not_after\":\"not a date\",\"sent\":true}]}]}},"
        "{\"name\":\"never\",\"address\":\"broker:8883\",\"protocol\":\"mqtt\",\"status\":\"unknown\","
        " \"problems\":[],\"last_probe\":\"never\",\"next_probe\":\"now\"}"
        "]";

/* instance is the configured HOST:PORT, an IPv6 literal in brackets. */
#define GOOD_T "instance=\"127.0.0.1:8883\",target=\"good\""
#define DOWN_T "instance=\"127.0.0.1:9\",target=\"down\""
#define ODD_T "instance=\"[::1]:443\",target=\"odd\\\"name\\\\with\\nnewline\""
#define GOOD GOOD_T ",address=\"127.0.0.1\",protocol=\"mqtt\""
#define DOWN DOWN_T ",address=\"127.0.0.1\",protocol=\"tls\""
#define ODD ODD_T ",address=\"::1\",protocol=\"https\""
#define NEVER_T "instance=\"broker:8883\",target=\"never\""
#define GOOD_SHA256 "ab00000000000000000000000000000000000000000000000000000000000000"
#define ZERO_SHA256 "0000000000000000000000000000000000000000000000000000000000000000"

static const char fleet_expected[] =
        "# HELP probe_success Whether the last probe of the address found nothing critical.\n"
        "# TYPE probe_success gauge\n"
        "probe_success{" GOOD "} 1\n"
        "probe_success{" DOWN "} 0\n"
        "probe_success{" ODD "} 1\n"
        "# HELP probe_duration_seconds How long the last probe of the address took.\n"
        "# TYPE probe_duration_seconds gauge\n"
        "probe_duration_seconds{" GOOD "} 0.012500\n"
        "probe_duration_seconds{" DOWN "} 0.000250\n"
        "probe_duration_seconds{" ODD "} 1.500000\n"
        "# HELP probe_ssl_earliest_cert_expiry The earliest notAfter on the served chain, as a Unix time.\n"
        "# TYPE probe_ssl_earliest_cert_expiry gauge\n"
        "probe_ssl_earliest_cert_expiry{" GOOD "} 1803513295\n"
        "probe_ssl_earliest_cert_expiry{" ODD "} 2147483648\n"
        "# HELP probe_ssl_last_chain_expiry_timestamp_seconds The earliest notAfter on the verified chain, as a "
        "Unix time.\n"
        "# TYPE probe_ssl_last_chain_expiry_timestamp_seconds gauge\n"
        "probe_ssl_last_chain_expiry_timestamp_seconds{" GOOD "} 1803513295\n"
        "probe_ssl_last_chain_expiry_timestamp_seconds{" ODD "} 1767225600\n"
        "# HELP probe_ssl_last_chain_info The leaf certificate the address served.\n"
        "# TYPE probe_ssl_last_chain_info gauge\n"
        "probe_ssl_last_chain_info{" GOOD ",fingerprint_sha256=\"" GOOD_SHA256 "\",subject=\"CN=good\","
        "issuer=\"CN=int,O=Test \\\"CA\\\"\",subjectalternative=\"good.example,127.0.0.1\"} 1\n"
        "probe_ssl_last_chain_info{" ODD ",fingerprint_sha256=\"" ZERO_SHA256 "\",subject=\"CN=x\",issuer=\"CN=x\","
        "subjectalternative=\"\"} 1\n"
        "# HELP probe_tls_version_info The TLS version the address negotiated.\n"
        "# TYPE probe_tls_version_info gauge\n"
        "probe_tls_version_info{" GOOD ",version=\"TLS 1.3\"} 1\n"
        "probe_tls_version_info{" ODD ",version=\"TLS 1.0\"} 1\n"
        "# HELP tlswatch_tls_group_info The key-exchange group the address negotiated (X25519, P-256, "
        "...).\n"
        "# TYPE tlswatch_tls_group_info gauge\n"
        "tlswatch_tls_group_info{" GOOD ",group=\"X25519\"} 1\n"
        "# HELP tlswatch_target_status The target's state: 0 ok, 1 warning, 2 critical, 3 unknown.\n"
        "# TYPE tlswatch_target_status gauge\n"
        "tlswatch_target_status{" GOOD_T ",protocol=\"mqtt\"} 0\n"
        "tlswatch_target_status{" DOWN_T ",protocol=\"tls\"} 2\n"
        "tlswatch_target_status{" ODD_T ",protocol=\"https\"} 1\n"
        "tlswatch_target_status{" NEVER_T ",protocol=\"mqtt\"} 3\n"
        "# HELP tlswatch_problem A problem the target has now, by code.\n"
        "# TYPE tlswatch_problem gauge\n"
        "tlswatch_problem{" DOWN_T ",protocol=\"tls\",code=\"connect_failed\",severity=\"critical\"} 1\n"
        "tlswatch_problem{" ODD_T ",protocol=\"https\",code=\"expires_soon\",severity=\"warning\"} 1\n"
        "# HELP tlswatch_cert_not_after_seconds Each certificate's notAfter on the address's path, by depth, as "
        "a Unix time.\n"
        "# TYPE tlswatch_cert_not_after_seconds gauge\n"
        "tlswatch_cert_not_after_seconds{" GOOD ",depth=\"0\"} 1803513295\n"
        "tlswatch_cert_not_after_seconds{" GOOD ",depth=\"1\"} 1953415747\n"
        "tlswatch_cert_not_after_seconds{" GOOD ",depth=\"2\"} 2111095747\n"
        "tlswatch_cert_not_after_seconds{" ODD ",depth=\"0\"} 2147483648\n"
        "tlswatch_cert_not_after_seconds{" ODD ",depth=\"1\"} 1767225600\n"
        "# HELP tlswatch_last_probe_timestamp_seconds When the target's last probe finished, as a Unix time.\n"
        "# TYPE tlswatch_last_probe_timestamp_seconds gauge\n"
        "tlswatch_last_probe_timestamp_seconds{" GOOD_T ",protocol=\"mqtt\"} 1795773600.250\n"
        "# HELP tlswatch_cert_lifetime_seconds Each certificate's lifetime (notAfter - notBefore) on the address's "
        "path, by depth.\n"
        "# TYPE tlswatch_cert_lifetime_seconds gauge\n"
        "tlswatch_cert_lifetime_seconds{" GOOD ",depth=\"0\"} 7776000\n"
        "# HELP tlswatch_cert_lifetime_left_ratio The fraction of each certificate's lifetime left at the last "
        "probe, by depth: ACME clients renew below 1/3 (1/2 under 10 days).\n"
        "# TYPE tlswatch_cert_lifetime_left_ratio gauge\n"
        "tlswatch_cert_lifetime_left_ratio{" GOOD ",depth=\"0\"} 0.666667\n"
        "# HELP tlswatch_certificate_changes_total Times the target served a new certificate since the start.\n"
        "# TYPE tlswatch_certificate_changes_total counter\n"
        "tlswatch_certificate_changes_total{" GOOD_T ",protocol=\"mqtt\"} 0\n"
        "tlswatch_certificate_changes_total{" DOWN_T ",protocol=\"tls\"} 0\n"
        "tlswatch_certificate_changes_total{" ODD_T ",protocol=\"https\"} 0\n"
        "tlswatch_certificate_changes_total{" NEVER_T ",protocol=\"mqtt\"} 0\n"
        "# HELP tlswatch_certificate_change_kinds_total What the target's certificate changes changed, by kind, "
        "since the start.\n"
        "# TYPE tlswatch_certificate_change_kinds_total counter\n";

/* The daemon's own families, last; format_at() passes this MetricsInfo. */
#define DAEMON_EXPECTED(n_targets) \
        "# HELP tlswatch_targets How many targets the configuration has.\n" \
        "# TYPE tlswatch_targets gauge\n" \
        "tlswatch_targets " n_targets "\n" \
        "# HELP tlswatch_build_info The tlswatch version and the OpenSSL it runs with.\n" \
        "# TYPE tlswatch_build_info gauge\n" \
        "tlswatch_build_info{version=\"9.8.7\",openssl=\"3.0.99\"} 1\n" \
        "# HELP tlswatch_crl_fetches_total CRLs fetched from their distribution points since the start.\n" \
        "# TYPE tlswatch_crl_fetches_total counter\n" \
        "tlswatch_crl_fetches_total 3\n" \
        "# HELP tlswatch_crl_fetch_failures_total CRL fetches that gave no usable CRL (no answer, an HTTP " \
        "error, too large, not a CRL).\n" \
        "# TYPE tlswatch_crl_fetch_failures_total counter\n" \
        "tlswatch_crl_fetch_failures_total 1\n" \
        "# HELP tlswatch_crl_cache_hits_total CRL requests answered from the cache since the start.\n" \
        "# TYPE tlswatch_crl_cache_hits_total counter\n" \
        "tlswatch_crl_cache_hits_total 197\n" \
        "# HELP tlswatch_metrics_timestamp_seconds When these metrics were written, as a Unix time.\n" \
        "# TYPE tlswatch_metrics_timestamp_seconds gauge\n" \
        "tlswatch_metrics_timestamp_seconds 1800000000.500\n"
static const MetricsInfo test_info = {
        .version = "9.8.7",
        .openssl_version = "3.0.99",
        .now_usec = 1800000000500000ULL,
        .crl_fetches = 3,
        .crl_fetch_failures = 1,
        .crl_cache_hits = 197,
};

static json_t *load_at(const char *text, const char *file, int line) {
        json_error_t error;
        json_t *document = json_loads(text, 0, &error);

        if (!document)
                print_error("fixture: %s at %d:%d\n", error.text, error.line, error.column);
        _assert_true(!!document, "fixture parses", file, line);
        return document;
}
#define load(text) load_at(text, __FILE__, __LINE__)

/* The structs metrics read, built from a status-like document: the test's fixtures stay readable. A
 * certificate whose notAfter is not the contract's form cannot exist in a report and is left out. */
typedef struct FleetTarget {
        const char *name, *protocol;
        char *host; /* from "address"; NULL without */
        uint16_t port;
        TargetState state;
        Report *report;
} FleetTarget;

typedef struct Fleet {
        json_t *document; /* the strings above point into it */
        FleetTarget *targets;
        size_t n;
        const char *vantage; /* Vantage=, NULL: none */
} Fleet;

static Status status_or_unknown(json_t *o) {
        Status s = status_from_string(json_string_value(o));
        return s < 0 ? STATUS_UNKNOWN : s;
}

static int64_t rfc3339(json_t *o) {
        return parse_timestamp_rfc3339(json_string_value(o));
}

static Report *report_from_json(json_t *o) {
        Report *report = calloc(1, sizeof(Report));
        size_t i, j;
        json_t *address, *certificate;

        assert_non_null(report);
        report->status = status_or_unknown(json_object_get(o, "status"));
        json_array_foreach(json_object_get(o, "addresses"), i, address) {
                AddressReport *a = report_add_address(report, json_string_value(json_object_get(address, "address")));
                assert_non_null(a);
                a->status = status_or_unknown(json_object_get(address, "status"));
                a->duration_usec = (uint64_t) (json_number_value(json_object_get(address, "duration_seconds")) * 1e6 + 0.5);
                a->tls_version = json_string_value(json_object_get(json_object_get(address, "tls"), "version"));
                snprintf(a->group, sizeof(a->group), "%s",
                         json_string_value(json_object_get(json_object_get(address, "tls"), "group")) ?: "");
                a->checked_at = (int64_t) json_integer_value(json_object_get(address, "checked_at"));
                json_t *chain = json_object_get(address, "chain");
                a->chain = calloc(json_array_size(chain) + 1, sizeof(ChainLink));
                assert_non_null(a->chain);
                json_array_foreach(chain, j, certificate) {
                        uint8_t sha256[32] = {};
                        char *names[8];
                        size_t n_names = 0, k;
                        json_t *name;
                        int64_t not_after = rfc3339(json_object_get(certificate, "not_after"));
                        if (not_after < 0)
                                continue;
                        /* Only the first byte of a fixture's fingerprint, in hex. */
                        const char *hex = json_string_value(json_object_get(certificate, "sha256"));
                        if (hex)
                                sha256[0] = (uint8_t) strtoul(hex, NULL, 16);
                        json_array_foreach(json_object_get(certificate, "subject_alt_names"), k, name)
                                if (n_names < ELEMENTSOF(names))
                                        names[n_names++] = (char *) json_string_value(name);
                        const char *subject = json_string_value(json_object_get(certificate, "subject"));
                        const char *issuer = json_string_value(json_object_get(certificate, "issuer"));
                        /* Without notBefore (0), no lifetime: as the daemon treats a chain without one. */
                        int64_t not_before = rfc3339(json_object_get(certificate, "not_before"));
                        assert_int_equal(certificate_new(sha256, MAX(not_before, 0), not_after, "EC", 256, "x", subject ?: "CN=x",
                                                         issuer ?: "CN=x", names, n_names,
                                                         &a->chain[a->n_chain].certificate),
                                         0);
                        a->chain[a->n_chain++].sent = json_is_true(json_object_get(certificate, "sent"));
                }
        }
        return report;
}

static Fleet *fleet_new_at(const char *text, const char *file, int line) {
        Fleet *fleet = calloc(1, sizeof(Fleet));
        size_t i, j;
        json_t *target, *problem;

        assert_non_null(fleet);
        fleet->document = load_at(text, file, line);
        fleet->targets = calloc(json_array_size(fleet->document) + 1, sizeof(FleetTarget));
        assert_non_null(fleet->targets);
        json_array_foreach(fleet->document, i, target) {
                FleetTarget *t = &fleet->targets[fleet->n++];
                t->name = json_string_value(json_object_get(target, "name"));
                t->protocol = json_string_value(json_object_get(target, "protocol"));
                t->state.status = status_or_unknown(json_object_get(target, "status"));
                t->state.last_probe_usec =
                        (usec_t) (json_number_value(json_object_get(target, "last_probe_unix")) * 1e6 + 0.5);
                const char *address = json_string_value(json_object_get(target, "address"));
                if (address)
                        _assert_int_equal(parse_host_port(address, 0, &t->host, &t->port, &(const char *) { NULL }),
                                          0, file, line);
                json_array_foreach(json_object_get(target, "problems"), j, problem)
                        _assert_int_equal(problem_list_add_json(&t->state.problems, problem), 0, file, line);
                if (json_object_get(target, "report"))
                        t->report = report_from_json(json_object_get(target, "report"));
        }
        return fleet;
}

#define fleet_new(text) fleet_new_at(text, __FILE__, __LINE__)

static void fleet_free(Fleet *fleet) {
        for (size_t i = 0; i < fleet->n; i++) {
                target_state_clear(&fleet->targets[i].state);
                free(fleet->targets[i].host);
                report_free(fleet->targets[i].report);
        }
        free(fleet->targets);
        json_decref(fleet->document);
        free(fleet);
}

static bool fleet_get(void *userdata, size_t i, MetricsTarget *ret) {
        Fleet *fleet = userdata;

        if (i >= fleet->n)
                return false;
        *ret = (MetricsTarget) {
                .name = fleet->targets[i].name,
                .protocol = fleet->targets[i].protocol,
                .host = fleet->targets[i].host,
                .port = fleet->targets[i].port,
                .state = &fleet->targets[i].state,
                .report = fleet->targets[i].report,
                .vantage = fleet->vantage,
        };
        return true;
}

/* Formats the targets of `text` and, unless `webhooks_text` is NULL, the webhooks of that. */
static char *format_at(const char *text, const char *webhooks_text, const char *file, int line) {
        Fleet *fleet = fleet_new_at(text, file, line);
        json_t *webhooks = webhooks_text ? load_at(webhooks_text, file, line) : NULL;
        char *out = NULL;

        _assert_int_equal(metrics_format(fleet_get, fleet, webhooks, &test_info, &out), 0, file, line);
        _assert_true(!!out, "output set", file, line);
        fleet_free(fleet);
        json_decref(webhooks);
        return out;
}
#define format(text) format_at(text, NULL, __FILE__, __LINE__)
#define format_with_webhooks(text, webhooks) format_at(text, webhooks, __FILE__, __LINE__)

static int family_of(const char *name, size_t length) {
        for (size_t i = 0; i < ELEMENTSOF(families); i++)
                if (strlen(families[i].name) == length && strncmp(families[i].name, name, length) == 0)
                        return (int) i;
        return -1;
}

/* The exposition format's rules, on any output: every line ends in a newline; per family exactly one
 * HELP and one TYPE (its own), in that order, before its samples, and the families in one block each;
 * a label value has no raw newline, its quotes and backslashes escaped; every value is a number. The
 * webhook families are there exactly when `webhooks` says. */
static void check_exposition_at(const char *text, bool webhooks, const char *file, int line) {
        unsigned help[ELEMENTSOF(families)] = {}, type[ELEMENTSOF(families)] = {};
        int current = -1;
        const char *p = text;

        _assert_true(*text == '\0' || text[strlen(text) - 1] == '\n', "ends in a newline", file, line);
        while (*p) {
                const char *end = strchr(p, '\n');
                size_t length = end - p;
                char copy[1024];

                _assert_true(length < sizeof(copy), "line length", file, line);
                memcpy(copy, p, length);
                copy[length] = '\0';

                if (strncmp(copy, "# HELP ", 7) == 0 || strncmp(copy, "# TYPE ", 7) == 0) {
                        const char *name = copy + 7;
                        size_t n = strcspn(name, " ");
                        int f = family_of(name, n);
                        if (f < 0)
                                print_error("unknown family in \"%s\"\n", copy);
                        _assert_true(f >= 0, "known family", file, line);
                        if (copy[2] == 'H') {
                                _assert_int_equal(help[f]++, 0, file, line);
                                _assert_int_equal(type[f], 0, file, line);
                                _assert_true(strlen(name + n) > 1, "help text", file, line);
                                current = f;
                        } else {
                                _assert_int_equal(type[f]++, 0, file, line);
                                _assert_int_equal(help[f], 1, file, line);
                                _assert_true(name[n] == ' ', "type after the name", file, line);
                                _assert_string_equal(name + n + 1, families[f].type, file, line);
                        }
                } else {
                        size_t n = strcspn(copy, "{ ");
                        int f = family_of(copy, n);
                        if (f < 0 || f != current)
                                print_error("sample outside its family's block: \"%s\"\n", copy);
                        _assert_true(f >= 0 && f == current, "sample in its family's block", file, line);
                        _assert_int_equal(type[f], 1, file, line);

                        const char *q = copy + n;
                        if (*q == '{') {
                                /* name="value" pairs; inside a value only \\, \" and \n escapes. */
                                for (q++; *q != '}';) {
                                        size_t k = strspn(q, "abcdefghijklmnopqrstuvwxyz_0123456789");
                                        _assert_true(k > 0 && q[k] == '=' && q[k + 1] == '"', "label name",
                                                     file, line);
                                        for (q += k + 2; *q != '"'; q++) {
                                                _assert_true(*q != '\0', "label value ends", file, line);
                                                if (*q == '\\') {
                                                        q++;
                                                        _assert_true(*q == '\\' || *q == '"' || *q == 'n',
                                                                     "escape", file, line);
                                                }
                                        }
                                        q++;
                                        if (*q == ',')
                                                q++;
                                        else
                                                _assert_true(*q == '}', "label list", file, line);
                                }
                                q++;
                        }
                        _assert_true(*q == ' ', "space before the value", file, line);
                        char *value_end = NULL;
                        (void) strtod(q + 1, &value_end);
                        _assert_true(value_end != q + 1 && *value_end == '\0', "numeric value", file, line);
                }
                p = end + 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                unsigned want = !families[i].webhook || webhooks;
                if (help[i] != want || type[i] != want)
                        print_error("%s: %u HELP and %u TYPE lines, expected %u\n", families[i].name,
                                    help[i], type[i], want);
                _assert_int_equal(help[i], want, file, line);
                _assert_int_equal(type[i], want, file, line);
        }
}
#define check_exposition(text) check_exposition_at(text, false, __FILE__, __LINE__)

/* Prints both texts line by line where they differ, since a failed string comparison of a whole
 * exposition is unreadable. */
static void assert_text_equal(const char *got, const char *expected) {
        if (strcmp(got, expected) != 0)
                print_error("--- expected:\n%s--- got:\n%s---\n", expected, got);
        assert_string_equal(got, expected);
}

/* ---- tests ---------------------------------------------------------------------------------------- */

static void test_fleet_exact(void **state) {
        _cleanup_free_ char *out = format(fleet_json);

        check_exposition(out);
        _cleanup_free_ char *expected = NULL;

        assert_true(asprintf(&expected, "%s%s", fleet_expected, DAEMON_EXPECTED("4")) > 0);
        assert_text_equal(out, expected);
}

static void test_empty_fleet(void **state) {
        _cleanup_free_ char *out = format("[]");
        char expected[8192] = "";

        check_exposition(out);
        /* Every family is announced even without samples, so a scrape of an empty daemon is valid. */
        for (const char *p = fleet_expected; *p;) {
                const char *end = strchr(p, '\n') + 1;
                if (p[0] == '#')
                        strncat(expected, p, end - p);
                p = end;
        }
        strcat(expected, DAEMON_EXPECTED("0"));
        assert_text_equal(out, expected);
}

static void test_help_and_type_once(void **state) {
        /* Samples of many targets still share one header per family. */
        _cleanup_free_ char *out = format(fleet_json);

        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                char help[128], type[128];
                if (families[i].webhook)
                        continue;
                snprintf(help, sizeof(help), "# HELP %s ", families[i].name);
                snprintf(type, sizeof(type), "# TYPE %s %s\n", families[i].name, families[i].type);
                const char *h = strstr(out, help), *t = strstr(out, type);
                assert_non_null(h);
                assert_non_null(t);
                assert_null(strstr(h + 1, help));
                assert_null(strstr(t + 1, type));
                assert_true(h < t);
        }
}

static void test_escaping(void **state) {
        /* Backslash first: "a\"b" must become a\\\"b, not a\\"b. Other control characters are not
         * escaped by the format and pass as they are. */
        _cleanup_free_ char *out = format(
                "[{\"name\":\"\\\\\\\"\\n\\n\\\"\\\\\",\"protocol\":\"a\\tb\",\"status\":\"ok\",\"problems\":["
                "{\"code\":\"expires_soon\",\"severity\":\"note\",\"message\":\"m\"}]}]");

        check_exposition(out);
        assert_non_null(strstr(out,
                               "tlswatch_target_status{target=\"\\\\\\\"\\n\\n\\\"\\\\\",protocol=\"a\tb\"} 0\n"));
        /* Codes and severities come from the string tables; a note is "note", as in every document. */
        assert_non_null(strstr(out, ",code=\"expires_soon\",severity=\"note\"} 1\n"));
}

static void test_tls_version_labels(void **state) {
        _cleanup_free_ char *out = format(
                "[{\"name\":\"v\",\"protocol\":\"tls\",\"status\":\"ok\",\"report\":{\"addresses\":["
                "{\"address\":\"a1\",\"status\":\"ok\",\"tls\":{\"version\":\"TLSv1.3\"}},"
                "{\"address\":\"a2\",\"status\":\"ok\",\"tls\":{\"version\":\"TLSv1.2\"}},"
                "{\"address\":\"a3\",\"status\":\"ok\",\"tls\":{\"version\":\"TLSv1.1\"}},"
                "{\"address\":\"a4\",\"status\":\"ok\",\"tls\":{\"version\":\"TLSv1\"}},"
                "{\"address\":\"a5\",\"status\":\"ok\",\"tls\":{\"version\":\"SSLv3\"}},"
                "{\"address\":\"a6\",\"status\":\"ok\"}]}}]");

        check_exposition(out);
        /* As the blackbox exporter names them, so existing dashboards work. */
#define VERSION_SAMPLE(address, version) \
        "probe_tls_version_info{target=\"v\",address=\"" address "\",protocol=\"tls\",version=\"" version "\"} 1\n"
        assert_non_null(strstr(out, VERSION_SAMPLE("a1", "TLS 1.3")));
        assert_non_null(strstr(out, VERSION_SAMPLE("a2", "TLS 1.2")));
        assert_non_null(strstr(out, VERSION_SAMPLE("a3", "TLS 1.1")));
        assert_non_null(strstr(out, VERSION_SAMPLE("a4", "TLS 1.0")));
        assert_non_null(strstr(out, VERSION_SAMPLE("a5", "SSLv3")));
        /* No handshake, no version sample. */
        assert_null(strstr(out, "probe_tls_version_info{target=\"v\",address=\"a6\""));
        assert_non_null(strstr(out, "probe_success{target=\"v\",address=\"a6\",protocol=\"tls\"} 1\n"));
}

static void test_probe_success_by_status(void **state) {
        _cleanup_free_ char *out = format(
                "[{\"name\":\"s\",\"protocol\":\"mqtt\",\"status\":\"critical\",\"report\":{\"addresses\":["
                "{\"address\":\"ok\",\"status\":\"ok\"},"
                "{\"address\":\"warning\",\"status\":\"warning\"},"
                "{\"address\":\"critical\",\"status\":\"critical\"},"
                "{\"address\":\"unknown\",\"status\":\"unknown\"},"
                "{\"address\":\"none\"}]}}]");

        check_exposition(out);
        assert_non_null(strstr(out, "probe_success{target=\"s\",address=\"ok\",protocol=\"mqtt\"} 1\n"));
        assert_non_null(strstr(out, "probe_success{target=\"s\",address=\"warning\",protocol=\"mqtt\"} 1\n"));
        assert_non_null(strstr(out, "probe_success{target=\"s\",address=\"critical\",protocol=\"mqtt\"} 0\n"));
        assert_non_null(strstr(out, "probe_success{target=\"s\",address=\"unknown\",protocol=\"mqtt\"} 0\n"));
        assert_non_null(strstr(out, "probe_success{target=\"s\",address=\"none\",protocol=\"mqtt\"} 0\n"));
}

static void test_target_status_values(void **state) {
        _cleanup_free_ char *out = format(
                "[{\"name\":\"a\",\"protocol\":\"tls\",\"status\":\"ok\"},"
                "{\"name\":\"b\",\"protocol\":\"tls\",\"status\":\"warning\"},"
                "{\"name\":\"c\",\"protocol\":\"tls\",\"status\":\"critical\"},"
                "{\"name\":\"d\",\"protocol\":\"tls\",\"status\":\"unknown\"},"
                "{\"name\":\"e\",\"protocol\":\"tls\",\"status\":\"bogus\"},"
                "{\"name\":\"f\",\"protocol\":\"tls\"}]");

        check_exposition(out);
        assert_non_null(strstr(out, "tlswatch_target_status{target=\"a\",protocol=\"tls\"} 0\n"));
        assert_non_null(strstr(out, "tlswatch_target_status{target=\"b\",protocol=\"tls\"} 1\n"));
        assert_non_null(strstr(out, "tlswatch_target_status{target=\"c\",protocol=\"tls\"} 2\n"));
        assert_non_null(strstr(out, "tlswatch_target_status{target=\"d\",protocol=\"tls\"} 3\n"));
        assert_non_null(strstr(out, "tlswatch_target_status{target=\"e\",protocol=\"tls\"} 3\n"));
        assert_non_null(strstr(out, "tlswatch_target_status{target=\"f\",protocol=\"tls\"} 3\n"));
        /* Never probed: no per-address samples at all. */
        assert_null(strstr(out, "probe_success{"));
}

static void test_not_after_parsing(void **state) {
        /* Only the contract's form, "YYYY-MM-DDTHH:MM:SSZ", in UTC whatever TZ says; anything else is
         * left out rather than guessed. */
        _cleanup_free_ char *out = NULL;

        setenv("TZ", "America/New_York", 1);
        out = format("[{\"name\":\"t\",\"protocol\":\"tls\",\"status\":\"ok\",\"report\":{\"addresses\":["
                     "{\"address\":\"a\",\"status\":\"ok\",\"chain\":["
                     "{\"not_after\":\"1970-01-01T00:00:01Z\",\"sent\":true},"
                     "{\"not_after\":\"2100-03-01T12:00:00Z\",\"sent\":true},"
                     "{\"not_after\":\"2027-02-24T23:54:55\",\"sent\":true},"
                     "{\"not_after\":\"2027-02-24T23:54:55Z junk\",\"sent\":true},"
                     "{\"not_after\":\"2027-02-24\",\"sent\":true},"
                     "{\"not_after\":17,\"sent\":true},"
                     "{\"sent\":true}]}]}}]");
        unsetenv("TZ");

        check_exposition(out);
        assert_non_null(strstr(out, ",depth=\"0\"} 1\n"));
        assert_non_null(strstr(out, ",depth=\"1\"} 4107585600\n"));
        for (int depth = 2; depth <= 6; depth++) {
                char label[32];
                snprintf(label, sizeof(label), ",depth=\"%d\"}", depth);
                assert_null(strstr(out, label));
        }
        assert_non_null(
                strstr(out, "probe_ssl_earliest_cert_expiry{target=\"t\",address=\"a\",protocol=\"tls\"} 1\n"));
}

static void test_no_sent_certificate(void **state) {
        /* Only trust-store certificates (sent: false): a chain expiry but no served one. */
        _cleanup_free_ char *out = format(
                "[{\"name\":\"t\",\"protocol\":\"tls\",\"status\":\"ok\",\"report\":{\"addresses\":["
                "{\"address\":\"a\",\"status\":\"ok\",\"chain\":[{\"not_after\":\"2027-02-24T23:54:55Z\"}]}]}}]");

        check_exposition(out);
        assert_null(strstr(out, "probe_ssl_earliest_cert_expiry{"));
        assert_non_null(strstr(out, "probe_ssl_last_chain_expiry_timestamp_seconds{target=\"t\",address=\"a\","
                                    "protocol=\"tls\"} 1803513295\n"));
}

static void test_probe_success_without_addresses(void **state) {
        /* A name that does not resolve: the report is critical (dns_failed) but has no address. The
         * usual alert, probe_success == 0, must still fire for it, as it does with the blackbox exporter;
         * without any probe_success sample the target is invisible to that alert. */
        _cleanup_free_ char *out = format(
                "[{\"name\":\"nodns\",\"address\":\"broker.invalid:8883\",\"protocol\":\"mqtt\","
                " \"status\":\"critical\","
                " \"problems\":[{\"code\":\"dns_failed\",\"severity\":\"critical\",\"message\":\"x\"}],"
                " \"report\":{\"status\":\"critical\",\"addresses\":[],"
                "  \"problems\":[{\"code\":\"dns_failed\",\"severity\":\"critical\",\"message\":\"x\"}]}}]");

        check_exposition(out);
        if (!strstr(out, "probe_success{instance=\"broker.invalid:8883\",target=\"nodns\""))
                print_error("no probe_success sample for a critical target without addresses:\n%s", out);
        const char *sample = strstr(out, "probe_success{instance=\"broker.invalid:8883\",target=\"nodns\"");
        assert_non_null(sample);
        /* With or without an empty address label: either way, 0. */
        assert_true(strncmp(strchr(sample, '}'), "} 0\n", 4) == 0);
}

static void test_webhooks(void **state) {
        /* The webhooks array is what the "webhooks" command answers; the daemon always passes one, so
         * its three families are always announced, and after the targets' ones. A member that is not
         * an integer (no success yet) gives no sample. */
        _cleanup_free_ char *out = format_with_webhooks(
                "[{\"name\":\"t\",\"protocol\":\"tls\",\"status\":\"ok\"}]",
                "[{\"name\":\"ops\",\"pending\":3,\"failures_total\":7,\"last_success_unix\":1803513295,"
                "\"dead_letters\":2,\"spool_unreadable\":1},"
                " {\"name\":\"we\\\"ird\\\\\\n\",\"pending\":0,\"failures_total\":0,\"last_success\":null}]");
        _cleanup_free_ char *empty = format_with_webhooks("[]", "[]");

        check_exposition_at(out, true, __FILE__, __LINE__);
        check_exposition_at(empty, true, __FILE__, __LINE__);
        assert_non_null(strstr(out, "\n# HELP tlswatch_webhook_pending Events queued for the webhook.\n"
                                    "# TYPE tlswatch_webhook_pending gauge\n"
                                    "tlswatch_webhook_pending{webhook=\"ops\"} 3\n"
                                    "tlswatch_webhook_pending{webhook=\"we\\\"ird\\\\\\n\"} 0\n"));
        assert_non_null(strstr(out, "# TYPE tlswatch_webhook_failures_total counter\n"
                                    "tlswatch_webhook_failures_total{webhook=\"ops\"} 7\n"
                                    "tlswatch_webhook_failures_total{webhook=\"we\\\"ird\\\\\\n\"} 0\n"));
        assert_non_null(strstr(out, "tlswatch_webhook_last_success_seconds{webhook=\"ops\"} 1803513295\n"));
        assert_null(strstr(out, "tlswatch_webhook_last_success_seconds{webhook=\"we"));
        assert_non_null(strstr(out, "tlswatch_webhook_dead_letters{webhook=\"ops\"} 2\n"));
        assert_non_null(strstr(out, "# TYPE tlswatch_webhook_spool_unreadable gauge\n"
                                    "tlswatch_webhook_spool_unreadable{webhook=\"ops\"} 1\n"));
        assert_true(strstr(out, "tlswatch_cert_not_after_seconds") <
                    strstr(out, "tlswatch_webhook_pending"));
}

static void test_probe_answer(void **state) {
        /* /probe's answer: the blackbox exporter's families without the listener's labels, one sample
         * each; the served expiry is the earliest of all addresses, the certificate and the TLS version
         * those of the worst address (here the second, warning). */
        Fleet *fleet = fleet_new(
                "[{\"name\":\"two\",\"address\":\"broker:8883\",\"protocol\":\"mqtt\",\"status\":\"warning\","
                " \"last_probe_unix\":1795773600,"
                " \"problems\":[{\"code\":\"expires_soon\",\"severity\":\"warning\",\"message\":\"soon\"}],"
                " \"report\":{\"status\":\"warning\",\"addresses\":["
                "  {\"address\":\"192.0.2.1\",\"status\":\"ok\",\"tls\":{\"version\":\"TLSv1.3\"},\"chain\":["
                "   {\"subject\":\"CN=new\",\"not_after\":\"2027-02-24T23:54:55Z\",\"sent\":true}]},"
                "  {\"address\":\"192.0.2.2\",\"status\":\"warning\",\"tls\":{\"version\":\"TLSv1.2\","
                "   \"group\":\"P-256\"},\"chain\":["
                "   {\"subject\":\"CN=old\",\"subject_alt_names\":[\"broker\"],\"not_after\":\"2026-12-01T00:00:00Z\","
                "    \"sent\":true},"
                "   {\"subject\":\"CN=root\",\"not_after\":\"2026-11-01T00:00:00Z\",\"sent\":false}]}]}}]");
        MetricsTarget target;
        _cleanup_free_ char *out = NULL;

        assert_true(fleet_get(fleet, 0, &target));
        fleet->targets[0].report->duration_usec = 1500000;
        assert_int_equal(metrics_format_probe(&target, &out), 0);
        assert_text_equal(out,
                          "# HELP probe_success Whether the probe found nothing critical.\n"
                          "# TYPE probe_success gauge\n"
                          "probe_success 1\n"
                          "# HELP probe_duration_seconds How long the probe took.\n"
                          "# TYPE probe_duration_seconds gauge\n"
                          "probe_duration_seconds 1.500000\n"
                          "# HELP probe_ssl_earliest_cert_expiry The earliest notAfter on the served chain, as a "
                          "Unix time.\n"
                          "# TYPE probe_ssl_earliest_cert_expiry gauge\n"
                          "probe_ssl_earliest_cert_expiry 1796083200\n"
                          "# HELP probe_ssl_last_chain_expiry_timestamp_seconds The earliest notAfter on the "
                          "verified chain, as a Unix time.\n"
                          "# TYPE probe_ssl_last_chain_expiry_timestamp_seconds gauge\n"
                          "probe_ssl_last_chain_expiry_timestamp_seconds 1793491200\n"
                          "# HELP probe_ssl_last_chain_info The leaf certificate the address served.\n"
                          "# TYPE probe_ssl_last_chain_info gauge\n"
                          "probe_ssl_last_chain_info{fingerprint_sha256=\"" ZERO_SHA256 "\",subject=\"CN=old\","
                          "issuer=\"CN=x\",subjectalternative=\"broker\"} 1\n"
                          "# HELP probe_tls_version_info The TLS version the address negotiated.\n"
                          "# TYPE probe_tls_version_info gauge\n"
                          "probe_tls_version_info{version=\"TLS 1.2\"} 1\n"
                          "# HELP tlswatch_tls_group_info The key-exchange group the address negotiated "
                          "(X25519, P-256, ...).\n"
                          "# TYPE tlswatch_tls_group_info gauge\n"
                          "tlswatch_tls_group_info{group=\"P-256\"} 1\n"
                          "# HELP tlswatch_target_status The target's state: 0 ok, 1 warning, 2 critical, 3 "
                          "unknown.\n"
                          "# TYPE tlswatch_target_status gauge\n"
                          "tlswatch_target_status 1\n"
                          "# HELP tlswatch_problem A problem the target has now, by code.\n"
                          "# TYPE tlswatch_problem gauge\n"
                          "tlswatch_problem{code=\"expires_soon\",severity=\"warning\"} 1\n"
                          "# HELP tlswatch_last_probe_timestamp_seconds When the target's last probe finished, as "
                          "a Unix time.\n"
                          "# TYPE tlswatch_last_probe_timestamp_seconds gauge\n"
                          "tlswatch_last_probe_timestamp_seconds 1795773600.000\n");
        fleet_free(fleet);
}

/* Vantage=: every sample of every family carries it, the daemon's, the webhooks' and /probe's too. */
static void check_every_sample_has(const char *out, const char *label) {
        const char *line = out;
        assert_non_null(line);
        while (line && *line) {
                size_t n = strcspn(line, "\n");
                if (line[0] != '#' && !memmem(line, n, label, strlen(label)))
                        fail_msg("no %s in: %.*s", label, (int) n, line);
                line += n + (line[n] == '\n');
        }
}

static void test_vantage(void **state) {
        Fleet *fleet = fleet_new(fleet_json);
        json_t *webhooks = load_at("[{\"name\":\"ops\",\"pending\":3,\"failures_total\":7,\"dead_letters\":0}]",
                                   __FILE__, __LINE__);
        MetricsInfo info = test_info;
        _cleanup_free_ char *out = NULL, *probe = NULL;
        MetricsTarget target;

        fleet->vantage = "eu-west";
        info.vantage = "eu-west";
        assert_int_equal(metrics_format(fleet_get, fleet, webhooks, &info, &out), 0);
        check_exposition_at(out, true, __FILE__, __LINE__);
        check_every_sample_has(out, "vantage=\"eu-west\"");
        assert_non_null(strstr(out, "tlswatch_build_info{vantage=\"eu-west\",version="));

        for (size_t i = 0; fleet_get(fleet, i, &target); i++)
                if (target.report) {
                        assert_int_equal(metrics_format_probe(&target, &probe), 0);
                        break;
                }
        assert_non_null(probe);
        const char *answer = probe ?: "";
        check_every_sample_has(answer, "vantage=\"eu-west\"");
        assert_null(strstr(answer, "instance="));
        assert_non_null(strstr(answer, "probe_success{vantage=\"eu-west\"} "));
        json_decref(webhooks);
        fleet_free(fleet);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fleet_exact),
                cmocka_unit_test(test_empty_fleet),
                cmocka_unit_test(test_help_and_type_once),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_tls_version_labels),
                cmocka_unit_test(test_probe_success_by_status),
                cmocka_unit_test(test_target_status_values),
                cmocka_unit_test(test_not_after_parsing),
                cmocka_unit_test(test_no_sent_certificate),
                cmocka_unit_test(test_webhooks),
                cmocka_unit_test(test_probe_success_without_addresses),
                cmocka_unit_test(test_probe_answer),
                cmocka_unit_test(test_vantage),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
