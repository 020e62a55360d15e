/* SPDX-License-Identifier: MIT */
#include "common/testenv.h"

#include <stdlib.h>
#include <string.h>

bool test_feature_off(const char *name)
{
	const char *v = getenv("AIRLOCK_TEST_FEATURES_OFF");
	size_t n = strlen(name);

	if (n == 0)
		return false;
	while (v && *v) {
		size_t len = strcspn(v, ",");

		if (len == n && strncmp(v, name, n) == 0)
			return true;
		v += len;
		v += *v == ',';
	}
	return false;
}
