/* SPDX-License-Identifier: MIT */
/* Reads the loaded libsystemd's version definitions (ELF .gnu.version_d) through dl_iterate_phdr(),
 * so --version shows the library actually mapped, not the headers we were built against. */
#include <elf.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "version-util.h"

#define LIBSYSTEMD_SONAME "libsystemd.so"
#define LIBSYSTEMD_VERSION_PREFIX "LIBSYSTEMD_"

/* The native ELF types, spelled out rather than through glibc's ElfW() so that cppcheck can read them. */
#if __SIZEOF_POINTER__ == 8
typedef Elf64_Addr ElfAddr;
typedef Elf64_Dyn ElfDyn;
typedef Elf64_Verdef ElfVerdef;
typedef Elf64_Verdaux ElfVerdaux;
#else
typedef Elf32_Addr ElfAddr;
typedef Elf32_Dyn ElfDyn;
typedef Elf32_Verdef ElfVerdef;
typedef Elf32_Verdaux ElfVerdaux;
#endif

typedef struct LibraryVersion {
        unsigned api;
        char file[PATH_MAX];
} LibraryVersion;

/* ld.so rewrites some dynamic entries to absolute addresses and leaves others (DT_VERDEF among them)
 * as offsets from the load address; a value below the load address is such an offset. */
static const void *dynamic_pointer(const struct dl_phdr_info *info, ElfAddr value) {
        return (const void *) (value < info->dlpi_addr ? info->dlpi_addr + value : value);
}

static int on_loaded_object(struct dl_phdr_info *info, size_t size, void *userdata) {
        LibraryVersion *found = userdata;
        const char *name = strrchr(info->dlpi_name, '/');
        const ElfDyn *dynamic = NULL;
        const char *strings = NULL;
        const ElfVerdef *verdef = NULL;
        size_t verdefs = 0;

        name = name ? name + 1 : info->dlpi_name;
        if (strncmp(name, LIBSYSTEMD_SONAME, strlen(LIBSYSTEMD_SONAME)) != 0)
                return 0;

        for (size_t i = 0; i < info->dlpi_phnum; i++)
                if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
                        dynamic = (const ElfDyn *) (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        for (; dynamic && dynamic->d_tag != DT_NULL; dynamic++)
                if (dynamic->d_tag == DT_STRTAB)
                        strings = dynamic_pointer(info, dynamic->d_un.d_ptr);
                else if (dynamic->d_tag == DT_VERDEF)
                        verdef = dynamic_pointer(info, dynamic->d_un.d_ptr);
                else if (dynamic->d_tag == DT_VERDEFNUM)
                        verdefs = dynamic->d_un.d_val;
        if (!strings || !verdef)
                return 0;

        for (size_t i = 0; i < verdefs; i++) {
                const ElfVerdaux *aux = (const ElfVerdaux *) ((const char *) verdef + verdef->vd_aux);
                const char *version = strings + aux->vda_name;

                if (strncmp(version, LIBSYSTEMD_VERSION_PREFIX, strlen(LIBSYSTEMD_VERSION_PREFIX)) == 0) {
                        unsigned long api = strtoul(version + strlen(LIBSYSTEMD_VERSION_PREFIX), NULL, 10);
                        found->api = MAX(found->api, (unsigned) MIN(api, (unsigned long) UINT_MAX));
                }
                if (verdef->vd_next == 0)
                        break;
                verdef = (const ElfVerdef *) ((const char *) verdef + verdef->vd_next);
        }

        /* The soname is a symlink; the file it names carries the library's own version. */
        char resolved[PATH_MAX];
        if (!realpath(info->dlpi_name, resolved))
                snprintf(resolved, sizeof resolved, "%s", info->dlpi_name);
        snprintf(found->file, sizeof found->file, "%s", basename(resolved));
        return 1;
}

int version_libsystemd(char **ret) {
        LibraryVersion found = {};

        (void) dl_iterate_phdr(on_loaded_object, &found);
        if (found.api == 0)
                return -ENOENT;
        if (asprintf(ret, "%u (%s)", found.api, found.file) < 0)
                return -ENOMEM;
        return 0;
}
