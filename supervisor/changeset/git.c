/* SPDX-License-Identifier: MIT */
/* Loads libgit2 on first use; see git.h. */
#include "supervisor/changeset/git.h"

#include "common/err.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#ifndef GIT2_SONAME
#define GIT2_SONAME "libgit2.so"
#endif

static struct git_api api;
static bool loaded;

static void load(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
		{"git_libgit2_init", offsetof(struct git_api, libgit2_init)},
		{"git_libgit2_shutdown", offsetof(struct git_api, libgit2_shutdown)},
		{"git_error_last", offsetof(struct git_api, error_last)},
		{"git_diff_options_init", offsetof(struct git_api, diff_options_init)},
		{"git_patch_from_buffers", offsetof(struct git_api, patch_from_buffers)},
		{"git_patch_to_buf", offsetof(struct git_api, patch_to_buf)},
		{"git_patch_free", offsetof(struct git_api, patch_free)},
		{"git_buf_dispose", offsetof(struct git_api, buf_dispose)},
	};
	void *h;
	size_t i;

	/* The soname the build was made against: another major version has another ABI. */
	h = dlopen(GIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		error("cannot load libgit2 (%s): %s", GIT2_SONAME, dlerror());
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			error("cannot load libgit2: %s is missing", syms[i].name);
			return;
		}
		*(void **)((char *)&api + syms[i].offset) = f;
	}
	/*
	 * Initialised once for the process, never shut down: the callers' own init/shutdown
	 * pairs then only count. libgit2's first init parses the system's CA certificates for
	 * its TLS stream (10-30 ms here, mbedtls), and the review diffs a change at every move.
	 */
	if (api.libgit2_init() < 0) {
		error("cannot initialise libgit2");
		return;
	}
	loaded = true;
}

const struct git_api *git_api(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	/* Once: the review loads it on its log reader's thread while the main one scans. */
	pthread_once(&once, load);
	return loaded ? &api : NULL;
}
