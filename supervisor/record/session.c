/* SPDX-License-Identifier: MIT */
/* The session record (meta.json); see session.h. */
#include "supervisor/record/session.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "supervisor/record/seal.h"
#include "supervisor/record/events.h"
#include "supervisor/record/handover.h"
#include "supervisor/record/layers.h"
#include "supervisor/record/manifest.h"
#include "tracee/landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

void session_iso_time(char *out, size_t sz)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

bool session_local_time(const char *when, struct tm *tm, long *ms)
{
	char frac[10] = "";
	time_t t;
	int n = 0;

	memset(tm, 0, sizeof(*tm));
	if (!when || sscanf(when, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm->tm_year, &tm->tm_mon,
			    &tm->tm_mday, &tm->tm_hour, &tm->tm_min, &tm->tm_sec, &n) != 6)
		return false;
	if (when[n] == '.')
		sscanf(when + n + 1, "%9[0-9]", frac);
	/* Milliseconds from the first three digits of the fraction, however many there are. */
	*ms = 0;
	for (n = 0; n < 3; n++)
		*ms = *ms * 10 + (frac[n] ? frac[n] - '0' : 0);
	tm->tm_year -= 1900;
	tm->tm_mon -= 1;
	t = timegm(tm);
	return t != (time_t)-1 && localtime_r(&t, tm) != NULL;
}

void session_local_iso(const char *when, char *out, size_t sz)
{
	char date[32], zone[8];
	struct tm tm;
	long ms;

	if (!session_local_time(when, &tm, &ms)) {
		snprintf(out, sz, "%s", when ? when : "?");
		return;
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(out, sz, "%s.%03ld%s", date, ms, zone);
}

static cJSON *string_array(const char *const *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, json_text(v[i]));
	return arr;
}

/*
 * When the command is an interpreter running a script, the script's content hash: the record
 * then says exactly which code ran, even after the file changes.
 */
static cJSON *script_of(char *const *command, const char *cwd)
{
	static const char *const interpreters[] = {"python", "python2", "python3", "node",
						   "perl",   "ruby",	"bash",	   "sh",
						   "dash",   "zsh",	"deno",	   "bun"};
	const char *base;
	bool interp = false;
	size_t i;

	if (!command[0])
		return cJSON_CreateNull(); /* a live session: each step's command is in the log */
	base = strrchr(command[0], '/');
	base = base ? base + 1 : command[0];
	for (i = 0; i < ARRAY_SIZE(interpreters); i++) {
		size_t n = strlen(interpreters[i]);

		/* python3.11 counts as python3 */
		if (strncmp(base, interpreters[i], n) == 0 &&
		    (base[n] == '\0' ||
		     (base[n] == '.' && base[n + 1] >= '0' && base[n + 1] <= '9')))
			interp = true;
	}
	if (!interp)
		return cJSON_CreateNull();
	for (i = 1; command[i]; i++) {
		cleanup_free char *path = NULL;
		char hash[65];
		struct stat st;
		cJSON *obj;

		if (strcmp(command[i], "-c") == 0 || strcmp(command[i], "-e") == 0 ||
		    strcmp(command[i], "-m") == 0)
			break; /* code on the command line, recorded in argv */
		if (command[i][0] == '-')
			continue;
		path = path_join(cwd, command[i]);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || sha256_file(path, hash) < 0)
			break;
		obj = cJSON_CreateObject();
		cJSON_AddItemToObject(obj, "path", json_text(path));
		cJSON_AddStringToObject(obj, "sha256", hash);
		return obj;
	}
	return cJSON_CreateNull();
}

static cJSON *mounts_json(const struct session *s, const struct plan *plan)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct plan_item *it = &plan->items[i];
		cJSON *m;

		if (it->kind != PLAN_OVERLAY && it->kind != PLAN_SCRATCH)
			continue;
		m = cJSON_CreateObject();
		cJSON_AddItemToObject(m, "path", json_text(it->path));
		cJSON_AddStringToObject(m, "kind",
					it->kind == PLAN_OVERLAY ? "overlay" : "scratch");
		cJSON_AddStringToObject(m, "upper", path_rel(it->upper, s->dir));
		cJSON_AddStringToObject(m, "work", path_rel(it->work, s->dir));
		cJSON_AddItemToObject(m, "premade",
				      string_array((const char *const *)it->premade, it->npremade));
		cJSON_AddItemToArray(arr, m);
	}
	return arr;
}

/*
 * The Landlock domain the command runs in (tracee/landlock.h): the command enforces exactly
 * what landlock_probe() says, or refuses to start.
 */
static cJSON *landlock_json(bool net_host)
{
	struct landlock_state st;
	cJSON *o = cJSON_CreateObject(), *scoped = cJSON_CreateArray();

	landlock_probe(&st, net_host);
	cJSON_AddNumberToObject(o, "abi", st.abi);
	cJSON_AddBoolToObject(o, "enforced", st.enforced);
	if (st.scope_abstract)
		cJSON_AddItemToArray(scoped, cJSON_CreateString("abstract_unix_socket"));
	if (st.scope_signal)
		cJSON_AddItemToArray(scoped, cJSON_CreateString("signal"));
	cJSON_AddItemToObject(o, "scoped", scoped);
	if (!st.enforced)
		cJSON_AddStringToObject(o, "why", st.why);
	return o;
}

void session_record_init(struct session_record *rec, const struct session *s, char *const *command,
			 const char *cwd, const struct plan *plan, const char *const *hidden,
			 size_t nhidden, const char *const *readonly, size_t nreadonly,
			 const char *net, unsigned long long timeout_ms)
{
	cJSON *m = cJSON_CreateObject();
	struct passwd *pw = getpwuid(getuid());
	struct utsname u;
	char now[64];
	size_t argc = 0;

	memset(rec, 0, sizeof(*rec));
	rec->s = s;
	rec->nchanges = -1;
	clock_gettime(CLOCK_MONOTONIC, &rec->started);
	while (command[argc])
		argc++;
	session_iso_time(now, sizeof(now));
	cJSON_AddNumberToObject(m, "version", 1);
	cJSON_AddStringToObject(m, "id", s->id);
	cJSON_AddStringToObject(m, "state", "running");
	cJSON_AddItemToObject(m, "command", string_array((const char *const *)command, argc));
	cJSON_AddItemToObject(m, "cwd", json_text(cwd));
	cJSON_AddItemToObject(m, "script", script_of(command, cwd));
	cJSON_AddStringToObject(m, "user", pw ? pw->pw_name : "?");
	cJSON_AddNumberToObject(m, "uid", getuid());
	cJSON_AddNumberToObject(m, "gid", getgid());
	cJSON_AddStringToObject(m, "start", now);
	cJSON_AddNullToObject(m, "end");
	cJSON_AddNullToObject(m, "duration_ms");
	cJSON_AddNullToObject(m, "exit_code");
	cJSON_AddNullToObject(m, "signal");
	cJSON_AddNullToObject(m, "limit");
	cJSON_AddStringToObject(m, "net", net);
	cJSON_AddItemToObject(m, "landlock", landlock_json(strcmp(net, "host") == 0));
	if (timeout_ms)
		cJSON_AddNumberToObject(m, "timeout_ms", (double)timeout_ms);
	else
		cJSON_AddNullToObject(m, "timeout_ms");
	cJSON_AddItemToObject(m, "rules", cJSON_CreateArray());
	cJSON_AddItemToObject(m, "hidden", string_array(hidden, nhidden));
	cJSON_AddItemToObject(m, "readonly", string_array(readonly, nreadonly));
	cJSON_AddItemToObject(m, "mounts", mounts_json(s, plan));
	cJSON_AddStringToObject(m, "airlock_version", AIRLOCK_VERSION);
	if (uname(&u) == 0)
		cJSON_AddStringToObject(m, "kernel", u.release);
	cJSON_AddNumberToObject(m, "supervisor_pid", getpid());
	rec->meta = m;
}

int session_record_start(struct session_record *rec)
{
	return store_write_meta(rec->s, rec->meta, false);
}

static void set_item(cJSON *obj, const char *key, cJSON *val)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
	else
		cJSON_AddItemToObject(obj, key, val);
}

/* The hashes of the captured output, which the seal then covers. */
static void record_output_hashes(struct session_record *rec)
{
	static const char *const names[] = {"stdout", "stderr"};
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		cleanup_free char *path = session_path(rec->s, names[i]);
		char hex[65];

		if (sha256_file(path, hex) == 0)
			cJSON_AddStringToObject(o, names[i], hex);
	}
	set_item(rec->meta, "output_sha256", o);
}

/* The event that ends the run and seals meta.json: how it ended, and the change set's hash. */
static cJSON *finish_event(const struct session_record *rec, int exit_code, int signal,
			   const char *limit)
{
	const char *changes = meta_str(rec->meta, "changes_sha256");
	struct buf what = BUF_INIT;
	cJSON *ev;

	buf_init(&what);
	if (limit)
		buf_addf(&what, "limit %s, exit %d", limit, exit_code);
	else if (signal)
		buf_addf(&what, "signal %d, exit %d", signal, exit_code);
	else
		buf_addf(&what, "exit %d", exit_code);
	if (rec->nchanges >= 0)
		buf_addf(&what, ", %ld change%s", rec->nchanges, rec->nchanges == 1 ? "" : "s");
	ev = seal_session_event("finish", what.data, "airlock");
	buf_release(&what);
	cJSON_AddNumberToObject(ev, "exit_code", exit_code);
	if (changes)
		cJSON_AddStringToObject(ev, "changes_sha256", changes);
	return ev;
}

/*
 * The overlays are mounted "volatile": overlayfs then skips every sync the program asks for
 * (pip, git and SQLite call fsync often, and nothing of theirs needs to be durable until the
 * person keeps it). What the session holds must still survive a crash or a reboot before the
 * commit, so the end of the run syncs the store's filesystem once: the upper directories,
 * the event log and meta.json together.
 */
static void sync_session(const struct session *s)
{
	cleanup_fd int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd) < 0)
		warn("session %s: cannot sync the held changes to disk (%s): a crash before the "
		     "commit may lose them",
		     s->id, strerror(errno));
}

/* Bytes the seal will hash: the held files' and the captured output's. */
static long long held_bytes(const struct session_record *rec)
{
	static const char *const names[] = {"stdout", "stderr"};
	long long total = 0;
	struct stat st;

	for (size_t i = 0; i < rec->changes.n; i++)
		total += rec->changes.items[i].size;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		cleanup_free char *path = session_path(rec->s, names[i]);

		if (stat(path, &st) == 0)
			total += st.st_size;
	}
	return total;
}

/*
 * Go on in a child that seals the record (see session.h). Returns true in the parent once the
 * child runs, false in the child, or when the seal must be done here after all.
 */
static bool seal_in_child(const struct session_record *rec)
{
	cleanup_free char *marker = session_path(rec->s, STORE_SEALING);
	struct stat std[3];
	bool have[3];
	int fd, nul;
	pid_t pid;

	fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return false;
	close(fd);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		unlink(marker);
		return false;
	}
	if (pid > 0)
		return true;
	/* Nothing of the caller's waits on us: not its terminal, nor the ends of its pipes
	   (the caller reads our output to its end), wherever they were duplicated. */
	setsid();
	for (int i = 0; i < 3; i++)
		have[i] = fstat(i, &std[i]) == 0;
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && nul >= 0; i++)
		dup2(nul, i);
	if (nul > 2)
		close(nul);
	{
		cleanup_dir DIR *d = opendir("/proc/self/fd");
		struct dirent *de;
		struct stat st;

		while (d && (de = readdir(d))) {
			int f = atoi(de->d_name);

			if (f <= 2 || f == dirfd(d) || fstat(f, &st) < 0)
				continue;
			for (int i = 0; i < 3; i++)
				if (have[i] && st.st_dev == std[i].st_dev &&
				    st.st_ino == std[i].st_ino)
					close(f);
		}
	}
	return false;
}

void session_record_finish(struct session_record *rec, struct event_log *log, int exit_code,
			   int signal, const char *limit, unsigned long long notifications,
			   bool wait_killable, bool sync_wakeup)
{
	struct timespec now;
	char when[64];
	cJSON *features;
	pid_t parent = getpid();
	struct manifest_collect *mc = manifest_collect_new();
	struct scan_observer obs = manifest_observer(mc);
	bool child = false;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - rec->started.tv_sec) * 1000.0 +
	     (double)(now.tv_nsec - rec->started.tv_nsec) / 1e6;
	session_iso_time(when, sizeof(when));
	set_item(rec->meta, "state", cJSON_CreateString("finished"));
	set_item(rec->meta, "end", cJSON_CreateString(when));
	set_item(rec->meta, "duration_ms", cJSON_CreateNumber((double)(long long)ms));
	set_item(rec->meta, "exit_code", cJSON_CreateNumber(exit_code));
	set_item(rec->meta, "signal", signal ? cJSON_CreateNumber(signal) : cJSON_CreateNull());
	set_item(rec->meta, "limit", limit ? cJSON_CreateString(limit) : cJSON_CreateNull());
	set_item(rec->meta, "notifications", cJSON_CreateNumber((double)notifications));
	features = cJSON_CreateObject();
	cJSON_AddBoolToObject(features, "wait_killable_recv", wait_killable);
	cJSON_AddBoolToObject(features, "sync_wakeup", sync_wakeup);
	set_item(rec->meta, "features", features);
	/*
	 * The set goes to the review too (handover.h): the scan need not be made again. Its walk
	 * builds the manifest as it goes (manifest.h): the upper directories are walked once.
	 */
	if (handover_scan(rec->s, rec->meta, &rec->changes, &obs) == 0) {
		rec->nchanges = (long)rec->changes.n;
		set_item(rec->meta, "changes", cJSON_CreateNumber((double)rec->changes.n));
	} else {
		manifest_collect_free(mc);
		mc = NULL; /* incomplete: the manifest walks on its own */
	}
	if (rec->seal_after_return && held_bytes(rec) >= SEAL_AFTER_BYTES) {
		if (seal_in_child(rec)) {
			manifest_collect_free(mc);
			return;
		}
		child = getpid() != parent;
	}
	/* Every entry of the overlays, hashed, for verify; the program has ended, they are still.
	 */
	if (manifest_record(rec->s, rec->meta, mc) < 0)
		warn("session %s: the change set is not recorded: 'airlock verify' cannot vouch "
		     "for it",
		     rec->s->id);
	manifest_collect_free(mc);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec->meta, "captured")))
		record_output_hashes(rec);
	if (events_syslog_path(log)) {
		unsigned long long sent, dropped;
		cJSON *o = cJSON_CreateObject();

		events_syslog_counts(log, &sent, &dropped);
		cJSON_AddStringToObject(o, "socket", events_syslog_path(log));
		cJSON_AddNumberToObject(o, "sent", (double)sent);
		cJSON_AddNumberToObject(o, "dropped", (double)dropped);
		set_item(rec->meta, "syslog", o);
	}
	seal_meta(rec->meta, log, finish_event(rec, exit_code, signal, limit));
	store_write_meta(rec->s, rec->meta, false);
	/* Nothing held, nothing to keep: a run without changes is not held up by the disk. */
	if (rec->nchanges != 0)
		sync_session(rec->s);
	if (child) {
		cleanup_free char *marker = session_path(rec->s, STORE_SEALING);

		events_close(log);
		unlink(marker);
		_exit(0);
	}
}

void session_record_free(struct session_record *rec)
{
	cJSON_Delete(rec->meta);
	rec->meta = NULL;
	change_set_free(&rec->changes);
}

const char *session_state(const struct session *s, const cJSON *meta)
{
	const char *state = meta_str(meta, "state");

	if (!state)
		return "unknown";
	if (strcmp(state, "running") == 0 && !store_in_use(s->id))
		return "interrupted";
	/* airlock start: its supervisor holds it while it serves steps */
	if (strcmp(state, "running") == 0 &&
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(meta, "live")))
		return "live";
	return state;
}

int session_scan_changes(const struct session *s, const cJSON *meta, struct change_set *cs)
{
	struct session_layers l;
	int rc;

	memset(cs, 0, sizeof(*cs));
	session_layers(s, meta, &l);
	rc = changes_scan(l.v, l.n, cs);
	session_layers_free(&l);
	return rc;
}
