/* SPDX-License-Identifier: MIT */
/* libcurl for tlswatchctl, loaded only when a probe fetches CRLs. The probe engine calls libcurl for
 * revocation checks alone, but linking it costs every one-shot check the loading and relocation of
 * libcurl's 30-odd libraries (GnuTLS, Kerberos, LDAP, ...): about a third of the instructions of a
 * `tlswatchctl probe` on Debian 12 (docs/BENCHMARKS.md, "One-shot cost"). So tlswatchctl is not linked
 * with libcurl; these definitions of the functions libprobe.a uses load it with dlopen() on the first
 * call (curl_global_init(), which the CRL path makes before any other) and forward. tlswatchd links
 * libcurl as usual and never sees this file. */

/* The type-checking macros would turn the definitions below into macro calls. */
#define CURL_DISABLE_TYPECHECK 1

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#define CURL_SONAME "libcurl.so.4"

static struct {
        bool loaded;
        CURLcode (*global_init)(long);
        CURL *(*easy_init)(void);
        void (*easy_cleanup)(CURL *);
        CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
        CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
        const char *(*easy_strerror)(CURLcode);
        CURLM *(*multi_init)(void);
        CURLMcode (*multi_cleanup)(CURLM *);
        CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
        CURLMcode (*multi_add_handle)(CURLM *, CURL *);
        CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
        CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
        CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
        CURLMsg *(*multi_info_read)(CURLM *, int *);
} lib;

static bool load(void) {
        void *handle;

        if (lib.loaded)
                return true;
        handle = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                log_debug("cannot load %s: %s", CURL_SONAME, dlerror());
                return false;
        }
#define SYMBOL(field, name)                                                   \
        do {                                                                  \
                *(void **) &lib.field = dlsym(handle, name);                  \
                if (!lib.field) {                                             \
                        log_debug("%s has no %s", CURL_SONAME, name);         \
                        return false;                                         \
                }                                                             \
        } while (0)
        SYMBOL(global_init, "curl_global_init");
        SYMBOL(easy_init, "curl_easy_init");
        SYMBOL(easy_cleanup, "curl_easy_cleanup");
        SYMBOL(easy_setopt, "curl_easy_setopt");
        SYMBOL(easy_getinfo, "curl_easy_getinfo");
        SYMBOL(easy_strerror, "curl_easy_strerror");
        SYMBOL(multi_init, "curl_multi_init");
        SYMBOL(multi_cleanup, "curl_multi_cleanup");
        SYMBOL(multi_setopt, "curl_multi_setopt");
        SYMBOL(multi_add_handle, "curl_multi_add_handle");
        SYMBOL(multi_remove_handle, "curl_multi_remove_handle");
        SYMBOL(multi_assign, "curl_multi_assign");
        SYMBOL(multi_socket_action, "curl_multi_socket_action");
        SYMBOL(multi_info_read, "curl_multi_info_read");
#undef SYMBOL
        /* The handle stays open for the life of the process, as a linked library would. */
        lib.loaded = true;
        return true;
}

CURLcode curl_global_init(long flags) {
        return load() ? lib.global_init(flags) : CURLE_FAILED_INIT;
}

/* The calls below come after curl_global_init() succeeded, or find libcurl missing and fail. */
CURL *curl_easy_init(void) {
        return load() ? lib.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *easy) {
        if (easy && load())
                lib.easy_cleanup(easy);
}

/* An option's number says the type of its one argument (curl.h, CURLOPTTYPE_*), as libcurl reads it. */
CURLcode curl_easy_setopt(CURL *easy, CURLoption option, ...) {
        CURLcode r;
        va_list ap;

        if (!load())
                return CURLE_FAILED_INIT;
        va_start(ap, option);
        /* On LP64 long and curl_off_t are one type, so two branches look alike; not on 32-bit systems.
         * NOLINTBEGIN(bugprone-branch-clone) */
        if (option < CURLOPTTYPE_OBJECTPOINT)
                r = lib.easy_setopt(easy, option, va_arg(ap, long));
        else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
                r = lib.easy_setopt(easy, option, va_arg(ap, curl_off_t));
        else /* object and function pointers, blobs: one pointer */
                r = lib.easy_setopt(easy, option, va_arg(ap, void *));
        /* NOLINTEND(bugprone-branch-clone) */
        va_end(ap);
        return r;
}

CURLcode curl_easy_getinfo(CURL *easy, CURLINFO info, ...) {
        CURLcode r;
        va_list ap;

        if (!load())
                return CURLE_FAILED_INIT;
        va_start(ap, info);
        r = lib.easy_getinfo(easy, info, va_arg(ap, void *)); /* always a pointer to the result */
        va_end(ap);
        return r;
}

const char *curl_easy_strerror(CURLcode code) {
        return load() ? lib.easy_strerror(code) : "libcurl is not available";
}

CURLM *curl_multi_init(void) {
        return load() ? lib.multi_init() : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *multi) {
        if (!multi)
                return CURLM_OK;
        return load() ? lib.multi_cleanup(multi) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...) {
        CURLMcode r;
        va_list ap;

        if (!load())
                return CURLM_INTERNAL_ERROR;
        va_start(ap, option);
        /* On LP64 long and curl_off_t are one type, so two branches look alike; not on 32-bit systems.
         * NOLINTBEGIN(bugprone-branch-clone) */
        if (option < CURLOPTTYPE_OBJECTPOINT)
                r = lib.multi_setopt(multi, option, va_arg(ap, long));
        else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
                r = lib.multi_setopt(multi, option, va_arg(ap, curl_off_t));
        else
                r = lib.multi_setopt(multi, option, va_arg(ap, void *));
        /* NOLINTEND(bugprone-branch-clone) */
        va_end(ap);
        return r;
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *easy) {
        return load() ? lib.multi_add_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *easy) {
        return load() ? lib.multi_remove_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_assign(CURLM *multi, curl_socket_t fd, void *data) {
        return load() ? lib.multi_assign(multi, fd, data) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_socket_action(CURLM *multi, curl_socket_t fd, int mask, int *running) {
        return load() ? lib.multi_socket_action(multi, fd, mask, running) : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *left) {
        return load() ? lib.multi_info_read(multi, left) : NULL;
}
