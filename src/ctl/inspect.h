/* SPDX-License-Identifier: MIT */
/* `tlswatchctl inspect FILE...`: what each certificate or key file holds, and how its certificates
 * chain, as the seed's openssl one-liners show it, in one command. */
#pragma once

/* argv[0] is "inspect". Returns the exit status: 0, or 3 when a file cannot be read or holds nothing
 * usable. */
int inspect_run(int argc, char **argv);
