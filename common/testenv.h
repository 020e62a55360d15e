/* SPDX-License-Identifier: MIT */
/*
 * Test-only switches. AIRLOCK_TEST_FEATURES_OFF=a,b,... makes airlock treat those kernel
 * features as missing, so the tests can run the fallbacks and the refusals a newer kernel
 * never takes. Only the test suites set it; it can only take features away.
 */
#ifndef AIRLOCK_COMMON_TESTENV_H
#define AIRLOCK_COMMON_TESTENV_H

#include <stdbool.h>

/*
 * Is the feature NAME turned off? Names: userns, uid_map, overlay, notify,
 * wait_killable_recv, addfd, addfd_send, sync_wakeup, pidfd_getfd, pidfd_thread, netns_cookie,
 * landlock.
 */
bool test_feature_off(const char *name);

#endif
