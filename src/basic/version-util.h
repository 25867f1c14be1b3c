/* SPDX-License-Identifier: MIT */
/* The version of the libsystemd this process runs with, for --version. libsystemd has no call that
 * tells it, so it is read from the loaded library itself: its newest symbol version and its file. */
#pragma once

/* Sets *ret to e.g. "252 (libsystemd.so.0.35.0)": the newest LIBSYSTEMD_NNN symbol version the loaded
 * library defines, which is the systemd release that last added to its API. Returns 0, -ENOENT if no
 * libsystemd is loaded or it defines no such version, or -ENOMEM. */
int version_libsystemd(char **ret);
