/* SPDX-License-Identifier: MIT */
/* Loads libgit2 on first use; see git.h. */
#include "supervisor/changeset/git.h"

#include "common/err.h"

#include <dlfcn.h>
#include <stddef.h>

#ifndef GIT2_SONAME
#define GIT2_SONAME "libgit2.so"
#endif

const struct git_api *git_api(void)
{
	static struct git_api api;
	static int loaded; /* 0 not tried, 1 loaded, -1 failed */
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

	if (loaded)
		return loaded > 0 ? &api : NULL;
	loaded = -1;
	/* The soname the build was made against: another major version has another ABI. */
	h = dlopen(GIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		error("cannot load libgit2 (%s): %s", GIT2_SONAME, dlerror());
		return NULL;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			error("cannot load libgit2: %s is missing", syms[i].name);
			return NULL;
		}
		*(void **)((char *)&api + syms[i].offset) = f;
	}
	loaded = 1;
	return &api;
}
