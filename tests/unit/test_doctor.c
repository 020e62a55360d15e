/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the checks `airlock run` makes before it clones (supervisor/cli/doctor.h) with
 * a fake /proc/sys (AIRLOCK_TEST_PROC_SYS), and for the test-only feature switch
 * (common/testenv.h).
 */
#include "supervisor/cli/doctor.h"

#include "common/testenv.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/airlock-unit-doctor.XXXXXX";

static void put(const char *name, const char *value)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "%s\n", value);
	fclose(f);
}

static void clear(void)
{
	static const char *const names[] = {"kernel/osrelease", "kernel/unprivileged_userns_clone",
					    "kernel/apparmor_restrict_unprivileged_userns",
					    "user/max_user_namespaces"};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, names[i]);
		unlink(path);
	}
}

static void test_feature_switch(void)
{
	unsetenv("AIRLOCK_TEST_FEATURES_OFF");
	ok(!test_feature_off("userns"), "nothing is off without the variable");
	setenv("AIRLOCK_TEST_FEATURES_OFF", "sync_wakeup,userns", 1);
	ok(test_feature_off("userns"), "the last name of a list");
	ok(test_feature_off("sync_wakeup"), "the first name of a list");
	ok(!test_feature_off("user"), "a prefix of a name is not the name");
	ok(!test_feature_off("wakeup"), "a suffix of a name is not the name");
	setenv("AIRLOCK_TEST_FEATURES_OFF", "overlay,,notify,", 1);
	ok(test_feature_off("notify"), "empty items are skipped");
	ok(!test_feature_off(""), "the empty name is never off");
	unsetenv("AIRLOCK_TEST_FEATURES_OFF");
}

static void test_preflight(void)
{
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/kernel", root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/user", root);
	mkdir(dir, 0700);
	setenv("AIRLOCK_TEST_PROC_SYS", root, 1);
	/* A store on tmpfs, which can hold overlays, wherever the test runs. */
	setenv("AIRLOCK_STATE_DIR", "/dev/shm/airlock-unit-doctor-none", 1);

	clear();
	is_int(doctor_preflight(), 0, "an empty /proc/sys: nothing to refuse");
	put("kernel/osrelease", "6.1.0-18-amd64");
	is_int(doctor_preflight(), 0, "Linux 6.1 passes");
	put("kernel/osrelease", "5.11.0");
	is_int(doctor_preflight(), 0, "Linux 5.11 passes");
	put("kernel/osrelease", "5.10.209");
	is_int(doctor_preflight(), -1, "Linux 5.10 is refused");
	put("kernel/osrelease", "4.19.0");
	is_int(doctor_preflight(), -1, "Linux 4.19 is refused");
	clear();
	put("user/max_user_namespaces", "0");
	is_int(doctor_preflight(), -1, "user.max_user_namespaces=0 is refused");
	put("user/max_user_namespaces", "15000");
	is_int(doctor_preflight(), 0, "user.max_user_namespaces=15000 passes");
	put("kernel/unprivileged_userns_clone", "0");
	is_int(doctor_preflight(), geteuid() == 0 ? 0 : -1,
	       "unprivileged_userns_clone=0: refused for users, not for root");
	put("kernel/unprivileged_userns_clone", "1");
	is_int(doctor_preflight(), 0, "unprivileged_userns_clone=1 passes");
	put("kernel/apparmor_restrict_unprivileged_userns", "1");
	is_int(doctor_preflight(), geteuid() == 0 ? 0 : -1,
	       "AppArmor's restriction, unconfined: refused for users, not for root");
	put("kernel/apparmor_restrict_unprivileged_userns", "0");
	is_int(doctor_preflight(), 0, "no AppArmor restriction passes");
	put("kernel/apparmor_restrict_unprivileged_userns", "garbage");
	is_int(doctor_preflight(), 0, "a value that is not a number is not a restriction");
	clear();
	unsetenv("AIRLOCK_TEST_PROC_SYS");
	unsetenv("AIRLOCK_STATE_DIR");
}

int main(void)
{
	char dir[600];

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	/* The refusals print their lines on stderr; TAP is on stdout. */
	test_feature_switch();
	test_preflight();
	snprintf(dir, sizeof(dir), "%s/kernel", root);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/user", root);
	rmdir(dir);
	rmdir(root);
	return tap_done();
}
