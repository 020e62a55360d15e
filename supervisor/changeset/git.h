/* SPDX-License-Identifier: MIT */
/*
 * libgit2, loaded when a subcommand first needs it. `airlock run` never does, and loading
 * libgit2 with the libraries it pulls in (Kerberos, mbedtls, ssh2, ...) cost every run
 * about 1.5 ms of a 20 ms start-up. The pointers carry libgit2's own prototypes, so calls
 * through them are type-checked as direct calls would be.
 */
#ifndef AIRLOCK_SUPERVISOR_GIT_H
#define AIRLOCK_SUPERVISOR_GIT_H

#include <git2.h>

struct git_api {
	__typeof__(&git_libgit2_init) libgit2_init;
	__typeof__(&git_libgit2_shutdown) libgit2_shutdown;
	__typeof__(&git_error_last) error_last;
	__typeof__(&git_diff_options_init) diff_options_init;
	__typeof__(&git_patch_from_buffers) patch_from_buffers;
	__typeof__(&git_patch_to_buf) patch_to_buf;
	__typeof__(&git_patch_free) patch_free;
	__typeof__(&git_buf_dispose) buf_dispose;
};

/* libgit2's functions, loading it on the first call; NULL after printing why. */
const struct git_api *git_api(void);

#endif
