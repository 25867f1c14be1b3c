/* SPDX-License-Identifier: MIT */
/* `tlswatchctl lint`: checks a listener's certfile, keyfile and cacertfile against the mapping rules
 * before the broker is (re)started with them. */
#pragma once

/* argv[0] is "lint". Returns the exit status as `probe` does: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
int lint_run(int argc, char **argv);
