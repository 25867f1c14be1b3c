/* SPDX-License-Identifier: MIT */
/* The inspect command: a JSON document per file, printed as such with --json, or rendered for a
 * person. Certificates are described by the same code that describes served chains, so a file and a
 * listener read the same way. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cert-check.h"
#include "cert-file.h"
#include "inspect.h"
#include "log.h"
#include "report-json.h"

static char *key_text(EVP_PKEY *key) {
        char *text = NULL;
        int id = EVP_PKEY_get_base_id(key);
        const char *type = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : OBJ_nid2sn(id);

        if (asprintf(&text, "%s %d", type, EVP_PKEY_get_bits(key)) < 0)
                return NULL;
        return text;
}

static json_t *inspect_file(const char *path) {
        _cleanup_(cert_file_freep) CertFile *file = NULL;
        json_t *o = json_pack("{s:s}", "file", path);
        int r;

        if (!o)
                return NULL;
        r = cert_file_load(path, &file);
        if (r < 0) {
                (void) json_object_set_new(o, "error", json_string(r == -EISDIR ? "a directory, not a file"
                                                                   : r == -EFBIG ? "larger than 1 MiB: not a certificate file"
                                                                                 : strerror(-r)));
                return o;
        }
        if (file->problem)
                (void) json_object_set_new(o, "problem", json_string(file->problem));
        (void) json_object_set_new(o, "der", json_boolean(file->der));

        json_t *items = json_array(), *certificates = json_array();
        int depth = 0;
        for (size_t i = 0; i < file->n_items; i++) {
                const CertFileItem *item = &file->items[i];
                json_t *entry = json_pack("{s:s, s:s}", "type", cert_file_item_type_to_string(item->type), "label",
                                          item->label);
                if (item->key) {
                        _cleanup_free_ char *text = key_text(item->key);
                        (void) json_object_set_new(entry, "key", json_string(text ?: "?"));
                }
                (void) json_array_append_new(items, entry);
                if (item->certificate) {
                        _cleanup_(certificate_unrefp) Certificate *c = NULL;
                        if (cert_check_describe(item->certificate, &c) >= 0)
                                (void) json_array_append_new(certificates, certificate_to_json(c, depth, true, time(NULL)));
                        depth++;
                }
        }
        (void) json_object_set_new(o, "items", items);
        (void) json_object_set_new(o, "certificates", certificates);

        STACK_OF(X509) *chain = cert_file_certificates(file);
        if (chain) {
                ChainOrder order = cert_file_chain_order(chain);
                json_t *c = json_pack("{s:b, s:b}", "ordered", order.ordered, "root_included", order.root_included);
                if (c && order.break_after >= 0)
                        (void) json_object_set_new(c, "break_after", json_integer(order.break_after));
                (void) json_object_set_new(o, "chain", c);
                sk_X509_pop_free(chain, X509_free);
        }
        return o;
}

static void print_file(json_t *o) {
        size_t i;
        json_t *item, *certificate;
        const char *error = json_string_value(json_object_get(o, "error"));

        printf("%s:", json_string_value(json_object_get(o, "file")));
        if (error) {
                printf(" cannot read: %s\n\n", error);
                return;
        }
        if (json_array_size(json_object_get(o, "items")) == 0) {
                printf(" %s\n\n", json_string_value(json_object_get(o, "problem")) ?: "nothing usable");
                return;
        }
        putchar('\n');
        json_array_foreach(json_object_get(o, "items"), i, item) {
                printf("  %s%s%s%s%s\n", json_string_value(json_object_get(item, "type")),
                       json_object_get(item, "key") ? " (" : "", json_string_value(json_object_get(item, "key")) ?: "",
                       json_object_get(item, "key") ? ")" : "",
                       json_is_true(json_object_get(o, "der")) ? ", DER" : "");
        }
        json_array_foreach(json_object_get(o, "certificates"), i, certificate) {
                printf("  %zu subject %s\n", i, json_string_value(json_object_get(certificate, "subject")));
                printf("    issuer %s\n", json_string_value(json_object_get(certificate, "issuer")));
                printf("    valid %s to %s (%.1f days left)\n", json_string_value(json_object_get(certificate, "not_before")),
                       json_string_value(json_object_get(certificate, "not_after")),
                       json_real_value(json_object_get(certificate, "days_left")));
                json_t *key = json_object_get(certificate, "key"), *name;
                size_t k;
                printf("    %s %lld, %s\n", json_string_value(json_object_get(key, "type")) ?: "?",
                       (long long) json_integer_value(json_object_get(key, "bits")),
                       json_string_value(json_object_get(certificate, "signature_algorithm")));
                printf("    names ");
                json_array_foreach(json_object_get(certificate, "subject_alt_names"), k, name)
                        printf("%s%s", k ? ", " : "", json_string_value(name));
                printf("%s\n", json_array_size(json_object_get(certificate, "subject_alt_names")) ? "" : "-");
                printf("    sha256 %s\n", json_string_value(json_object_get(certificate, "sha256")));
        }
        json_t *chain = json_object_get(o, "chain");
        if (chain && json_array_size(json_object_get(o, "certificates")) > 1) {
                if (json_is_true(json_object_get(chain, "ordered")))
                        printf("  chain: ordered, leaf first, each certificate issued by the next\n");
                else
                        printf("  chain: breaks after certificate %lld: the next one did not issue it (wrong order, or "
                               "certificates of different chains)\n",
                               (long long) json_integer_value(json_object_get(chain, "break_after")));
                printf("  root: %s\n", json_is_true(json_object_get(chain, "root_included"))
                                               ? "included (not needed in a certfile: clients have it)"
                                               : "not included");
        }
        if (json_object_get(o, "problem"))
                printf("  problem: %s\n", json_string_value(json_object_get(o, "problem")));
        putchar('\n');
}

int inspect_run(int argc, char **argv) {
        bool json = false;
        int exit_code = 0, files = 0;
        json_t *all = json_array();

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0) {
                        json = true;
                        continue;
                }
                if (argv[i][0] == '-' && argv[i][1]) {
                        log_error("inspect: unknown option \"%s\"", argv[i]);
                        json_decref(all);
                        return 3;
                }
                json_t *o = inspect_file(argv[i]);
                files++;
                if (!o || json_object_get(o, "error") || json_array_size(json_object_get(o, "items")) == 0)
                        exit_code = 3;
                if (o)
                        (void) json_array_append_new(all, o);
        }
        if (files == 0) {
                log_error("inspect needs at least one FILE");
                json_decref(all);
                return 3;
        }

        size_t i;
        json_t *o;
        if (json) {
                (void) json_dumpf(all, stdout, JSON_INDENT(2) | REPORT_JSON_DUMP_FLAGS);
                putchar('\n');
        } else
                json_array_foreach(all, i, o)
                        print_file(o);
        json_decref(all);
        return exit_code;
}
