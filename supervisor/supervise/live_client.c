/* SPDX-License-Identifier: MIT */
/*
 * `airlock start`, `airlock exec` and `airlock stop`: the caller's side of a live session.
 * start runs the supervisor in the background (run_live() in run.c) and waits until its
 * sandbox is up; exec and stop speak to it over the session's control socket (live.h).
 */
#include "supervisor/supervise/run_int.h"

#include "common/json.h"
#include "common/scm.h"
#include "common/strvec.h"
#include "common/testenv.h"
#include "supervisor/supervise/live.h"
#include "ui/prompt.h"
#include "supervisor/supervise/live_client.h"

#include <sys/un.h>

#define EXEC_OUTPUT_MAX (16ULL << 20) /* exec --json: each stream kept, as run's default */

/* Close every descriptor above stderr but keep[0..n): the daemon holds nothing of the
   caller's (a test harness's fd 3, a pipe someone waits on). */
static void close_inherited(const int *keep, size_t n)
{
	int max = (int)sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++) {
		bool kept = false;

		for (size_t i = 0; i < n; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

/* A session with this name that is live now (its supervisor holds it), or NULL. */
static char *live_name_owner(const char *name)
{
	struct session s = {.lock_fd = -1};
	char *id = NULL;

	if (store_find_quiet(name, &s) == 0) {
		if (store_in_use(s.id))
			id = xstrdup(s.id);
		store_close(&s);
	}
	return id;
}

/*
 * Run the supervisor of a live session in the background (run_live(), resuming session
 * resume when not NULL) and wait until its sandbox is up: its ID into id. 0, or the exit
 * status to fail with (the supervisor said why on our stderr).
 */
static int spawn_supervisor(int argc, char **argv, const char *resume, int ask_fd, const char *dir,
			    char *id, size_t size)
{
	int ready[2], status = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		die_errno("cannot create a pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die_errno("cannot start the session's supervisor");
	if (pid == 0) {
		/* The benchmarks' timing descriptor too: the breakdown of an exec
		   (bench/exec_breakdown) needs the session's side of it. */
		int keep[3] = {ready[1], ask_fd, test_timing_fd()};
		int null = open("/dev/null", O_RDWR);

		close(ready[0]);
		/* Its own session: the terminal's signals and hangup are not its. */
		setsid();
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(EXIT_AIRLOCK_FAILED);
		close_inherited(keep, 3);
		if (null > STDERR_FILENO && null != ready[1] && null != ask_fd)
			close(null);
		if (dir && chdir(dir) < 0) {
			error_errno("cannot enter %s, where the session started", dir);
			_exit(EXIT_AIRLOCK_FAILED);
		}
		_exit(run_live(argc, argv, ready[1], resume));
	}
	close(ready[1]);
	while (len < size - 1 && (n = read(ready[0], id + len, size - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	close(ready[0]);
	id[len] = '\0';
	if (len == 0 || id[len - 1] != '\n') {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status))
			error("start: the session's supervisor died (signal %d) before its sandbox "
			      "was up",
			      WTERMSIG(status));
		return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status)
								: EXIT_AIRLOCK_FAILED;
	}
	id[len - 1] = '\0';
	return 0;
}

int cmd_start(int argc, char **argv)
{
	struct run_opts o = {.live = true};
	char id[128];
	int rc;

	rc = parse_run_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (o.name) {
		cleanup_free char *owner = live_name_owner(o.name);

		if (owner) {
			error("start: the name '%s' is taken by live session %s", o.name, owner);
			return EXIT_USAGE;
		}
	}
	rc = spawn_supervisor(argc, argv, NULL, o.ask_fd, NULL, id, sizeof(id));
	if (rc)
		return rc;
	if (o.json)
		printf("{\"version\":1,\"session\":\"%s\"}\n", id);
	else
		printf("%s\n", id);
	return 0;
}

/*
 * exec on a stopped live session nobody committed: a fresh sandbox over the same held
 * changes, with the options `start` was given, from where it started. 0, or an exit status.
 */
static int restart(const struct session *s, const cJSON *meta)
{
	cleanup_free char *path = session_path(s, "start.json");
	cleanup_free char *text = read_file(path, 1 << 20, NULL);
	cJSON *args = text ? cJSON_Parse(text) : NULL;
	const char *cwd = meta_str(meta, "cwd");
	char **argv = NULL, id[128];
	int argc = 0, rc;
	const cJSON *a;

	if (!cJSON_IsArray(args) || !cwd) {
		cJSON_Delete(args);
		error("exec: session %s cannot be started again: %s is missing or damaged", s->id,
		      path);
		return EXIT_AIRLOCK_FAILED;
	}
	argv = xcalloc((size_t)cJSON_GetArraySize(args) + 2, sizeof(*argv));
	argv[argc++] = (char *)"start";
	cJSON_ArrayForEach(a, args)
	{
		if (!cJSON_IsString(a)) {
			free(argv);
			cJSON_Delete(args);
			error("exec: %s is damaged", path);
			return EXIT_AIRLOCK_FAILED;
		}
		argv[argc++] = a->valuestring;
	}
	fprintf(stderr,
		"airlock: session %s was stopped: starting a fresh sandbox over its held changes\n",
		s->id);
	rc = spawn_supervisor(argc, argv, s->id, -1, cwd, id, sizeof(id));
	free(argv);
	cJSON_Delete(args);
	return rc;
}

/*
 * Connect to a live session's control socket. The fd, or -errno. Its path when it fits in
 * sun_path; else through /proc/self/fd/N of the session directory (an open, a lookup in
 * /proc and a close more, for every exec).
 */
static int live_connect(const struct session *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_fd int dir = -1;
	int fd, rc;

	rc = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", s->dir, LIVE_SOCKET);
	if (rc < 0 || (size_t)rc >= sizeof(sa.sun_path)) {
		dir = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return -errno;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir, LIVE_SOCKET);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Why session s cannot be reached: it is not live. Returns the exit status. */
static int not_live(const struct session *s, const char *verb)
{
	cJSON *meta = store_read_meta(s);
	const char *state = meta ? session_state(s, meta) : "unknown";

	error("%s: session %s is not live (%s)%s", verb, s->id, state,
	      strcmp(state, "interrupted") == 0 ? ": its supervisor is gone; 'airlock stop' "
						  "seals it for review"
						: "; 'airlock start' begins a new one");
	cJSON_Delete(meta);
	return EXIT_AIRLOCK_FAILED;
}

static int send_request(int fd, const struct live_msg *m, const struct buf *body, const int *fds,
			size_t nfds)
{
	union scm_buf cbuf;
	struct iovec iov[2] = {
		{.iov_base = (void *)m, .iov_len = sizeof(*m)},
		{.iov_base = body ? body->data : NULL, .iov_len = body ? body->len : 0}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	scm_put_fds(&mh, &cbuf, fds, nfds);
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/*
 * One answer; its text (if any) in text, or, for a LIVE_HANDED when bytes is given, its body
 * in bytes. 0, or -errno / -EPIPE when the session went away.
 */
static int read_answer_bytes(int fd, struct live_msg *m, char *text, size_t size, struct buf *bytes)
{
	static char buf[sizeof(*m) + LIVE_HAND_BACK_MAX + 1];
	ssize_t n;

	do {
		n = recv(fd, buf, bytes ? sizeof(buf) : sizeof(*m) + 512, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n < (ssize_t)sizeof(*m))
		return -EPIPE;
	memcpy(m, buf, sizeof(*m));
	if (m->magic != LIVE_MAGIC)
		return -EPROTO;
	text[0] = '\0';
	if (bytes && m->type == LIVE_HANDED) {
		buf_reset(bytes);
		if ((size_t)n - sizeof(*m) > LIVE_HAND_BACK_MAX)
			return -EPROTO;
		buf_add(bytes, buf + sizeof(*m), (size_t)n - sizeof(*m));
	} else if ((size_t)n > sizeof(*m)) {
		size_t len = (size_t)n - sizeof(*m);

		if (len >= size)
			len = size - 1;
		memcpy(text, buf + sizeof(*m), len);
		text[len] = '\0';
	}
	return 0;
}

static int read_answer(int fd, struct live_msg *m, char *text, size_t size)
{
	return read_answer_bytes(fd, m, text, size, NULL);
}

struct exec_opts {
	const char *dir;       /* -C */
	const char *hand_back; /* --hand-back, as given */
	char *hand_back_real;  /* the same with its directory resolved: what is asked for */
	bool json;
	const char *id;
	char **command;
};

static const char exec_usage[] =
	"usage: airlock exec ID [-C DIR] [--hand-back FILE] [--json] [--] command [arg...]\n"
	"\n"
	"Run a command in live session ID ('airlock start'): it sees every change the\n"
	"earlier steps made, under the session's rules, asks, network and limits. Its\n"
	"stdin, stdout, stderr and exit status are its own, as with 'airlock run'.\n"
	"\n"
	"  -C DIR         run in DIR (default: the current directory, or the session's\n"
	"                 when the current one is not in its view)\n"
	"      --hand-back FILE\n"
	"                 once the step ended, copy FILE's final content in the session\n"
	"                 to the same path here (a regular file under /tmp or $TMPDIR)\n"
	"      --json     print one JSON result on stdout; output is captured into it\n";

/* exec's options, before or after the ID; -1 to go on, else the exit status. */
static int exec_options(int argc, char **argv, struct exec_opts *o)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"hand-back", required_argument, NULL, 'B'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "+:C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			o->dir = optarg;
			break;
		case 'B':
			if (o->hand_back) {
				error("exec: --hand-back: one file per step");
				return EXIT_USAGE;
			}
			o->hand_back = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(exec_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "airlock: exec: option '%s' needs a value\n%.*s\n",
				argv[optind - 1], (int)strcspn(exec_usage, "\n"), exec_usage);
			return EXIT_USAGE;
		default:
			option_error("exec", argv[optind - 1], opts, exec_usage + 7);
			return EXIT_USAGE;
		}
	}
	return -1;
}

static int parse_exec(int argc, char **argv, struct exec_opts *o)
{
	int rc;

	optind = 1;
	opterr = 0;
	rc = exec_options(argc, argv, o);
	if (rc >= 0)
		return rc;
	if (optind < argc && strcmp(argv[optind], "--") != 0) {
		/* The ID, then options again: getopt reads the rest with the ID as its argv[0]. */
		o->id = argv[optind];
		argv += optind;
		argc -= optind;
		optind = 1;
		rc = exec_options(argc, argv, o);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (!o->id || optind >= argc) {
		fprintf(stderr, "airlock: exec: %s\n%.*s\n",
			o->id ? "no command given" : "no session given",
			(int)strcspn(exec_usage, "\n"), exec_usage);
		return EXIT_USAGE;
	}
	o->command = argv + optind;
	return -1;
}

/*
 * Where --hand-back may write: under /tmp or $TMPDIR (as resolved here), a name that is not
 * there yet or is a regular file of ours; never through a symlink. The path with its
 * directory resolved, or NULL after an error message.
 */
static char *hand_back_target(const char *path)
{
	cleanup_free char *norm = NULL, *dir = NULL, *real = NULL, *tmp = NULL, *tmpdir = NULL;
	cleanup_free char *full = NULL;
	const char *name, *env = getenv("TMPDIR");
	struct stat st;
	char *slash;

	if (path[0] != '/')
		return error("exec: --hand-back %s: not an absolute path", path), NULL;
	norm = path_normalize(path);
	slash = strrchr(norm, '/');
	name = slash + 1;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return error("exec: --hand-back %s: not a file name", path), NULL;
	dir = slash == norm ? xstrdup("/") : xstrndup(norm, (size_t)(slash - norm));
	real = realpath(dir, NULL);
	if (!real)
		return error_errno("exec: --hand-back %s: cannot resolve %s", path, dir), NULL;
	tmp = realpath("/tmp", NULL);
	if (env && env[0] == '/')
		tmpdir = realpath(env, NULL);
	if (!(tmp && path_is_under(real, tmp)) && !(tmpdir && path_is_under(real, tmpdir)))
		return error("exec: --hand-back %s: not under /tmp or $TMPDIR: only a temporary "
			     "file is handed back",
			     path),
		       NULL;
	full = path_join(real, name);
	if (lstat(full, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_uid != getuid()))
		return error("exec: --hand-back %s: exists and is not a regular file of yours",
			     path),
		       NULL;
	return xstrdup(full);
}

/*
 * The handed-back content to path (hand_back_target()'s): a new file of mode 0600 in the same
 * directory, renamed over the name, so a reader sees the old content or the new, and a symlink
 * planted meanwhile is replaced, never followed. 0 or -1 after an error message.
 */
static int hand_back_write(const char *path, const struct buf *content)
{
	cleanup_free char *dir = xstrdup(path), *tmpname = NULL;
	char *slash = strrchr(dir, '/');
	const char *name = slash + 1;
	cleanup_fd int dfd = -1;
	struct stat st;
	int fd = -1;

	*slash = '\0';
	dfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return error_errno("exec: --hand-back: cannot open %s", dir[0] ? dir : "/");
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (!S_ISREG(st.st_mode) || st.st_uid != getuid()))
		return error("exec: --hand-back %s: exists and is not a regular file of yours",
			     path);
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		free(tmpname);
		tmpname = xasprintf(".%s.airlock-%d-%d", name, (int)getpid(), tries);
		fd = openat(dfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return error_errno("exec: --hand-back %s: cannot create a file beside it", path);
	for (size_t off = 0; off < content->len;) {
		ssize_t w = write(fd, content->data + off, content->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			error_errno("exec: --hand-back %s: cannot write", path);
			close(fd);
			unlinkat(dfd, tmpname, 0);
			return -1;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || renameat(dfd, tmpname, dfd, name) < 0) {
		error_errno("exec: --hand-back %s: cannot replace it", path);
		unlinkat(dfd, tmpname, 0);
		return -1;
	}
	return 0;
}

/* The request's body: the directory, the hand-back path, the command, our environment. */
static int exec_body(const struct exec_opts *o, struct buf *b, int *nargs)
{
	cleanup_free char *cwd = getcwd(NULL, 0);
	cleanup_free char *dir = NULL;
	char **p;

	if (!cwd)
		return error_errno("exec: cannot read the working directory");
	dir = o->dir ? (o->dir[0] == '/' ? path_normalize(o->dir) : path_join(cwd, o->dir))
		     : xstrdup(cwd);
	if (o->dir) {
		char *norm = path_normalize(dir);

		free(dir);
		dir = norm;
	}
	buf_init(b);
	buf_add(b, dir, strlen(dir) + 1);
	if (o->hand_back_real)
		buf_add(b, o->hand_back_real, strlen(o->hand_back_real) + 1);
	for (*nargs = 0, p = o->command; *p; p++, (*nargs)++)
		buf_add(b, *p, strlen(*p) + 1);
	for (p = environ; p && *p; p++)
		buf_add(b, *p, strlen(*p) + 1);
	if (b->len > LIVE_MAX_BODY)
		return error("exec: the command line and environment take %zu bytes; a live "
			     "session takes at most %d",
			     b->len, LIVE_MAX_BODY);
	return 0;
}

/* The client's relay: a stream the step may not hold as is goes through a pipe of ours. */
struct pump {
	int from, to; /* from: read end (or our stdin); to: write end (or our stdout/stderr) */
	struct buf keep;
	unsigned long long dropped;
	size_t max; /* what a capture keeps (0: EXEC_OUTPUT_MAX) */
	bool capture;
};

static void pump_read(struct pump *p)
{
	char buf[65536];
	ssize_t n = read(p->from, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(p->from);
			p->from = -1;
			if (p->to >= 0 && !p->capture && p->to > STDERR_FILENO) {
				close(p->to);
				p->to = -1;
			}
		}
		return;
	}
	if (p->capture) {
		size_t max = p->max ? p->max : EXEC_OUTPUT_MAX;
		size_t room = p->keep.len < max ? max - p->keep.len : 0;

		buf_add(&p->keep, buf, (size_t)n < room ? (size_t)n : room);
		if ((size_t)n > room)
			p->dropped += (size_t)n - room;
		return;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(p->to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* our reader is gone: what the step writes is dropped */
		off += w;
	}
}

/* The step's stdin, stdout and stderr (fds), with the pumps that serve the unsafe ones. */
static void exec_stdio(bool json, int fds[3], struct pump pumps[3], int theirs[3])
{
	for (int k = 0; k < 3; k++) {
		int p[2];

		pumps[k] = (struct pump){.from = -1, .to = -1, .capture = json && k > 0};
		buf_init(&pumps[k].keep);
		theirs[k] = -1;
		if (json && k == 0) {
			fds[k] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			theirs[k] = fds[k];
			continue;
		}
		if (!pumps[k].capture && fcntl(k, F_GETFD) < 0) {
			/* Closed here: the step gets /dev/null (a descriptor cannot be sent
			 * closed). */
			fds[k] = theirs[k] = open("/dev/null", O_RDWR | O_CLOEXEC);
			continue;
		}
		if (!pumps[k].capture && stdio_safe(k)) {
			fds[k] = k;
			continue;
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			die_errno("cannot create a pipe");
		if (k == 0) {
			/* Our stdin (a file, a FIFO) is copied in: the step never holds it. */
			pumps[k].from = STDIN_FILENO;
			pumps[k].to = p[1];
			fds[k] = theirs[k] = p[0];
		} else {
			pumps[k].from = p[0];
			pumps[k].to = k;
			fds[k] = theirs[k] = p[1];
		}
	}
}

/* A redactor for captured output: the values of the variables the sandbox does not get. */
static struct redactor *exec_redactor(void)
{
	struct env_result env = {0};
	struct redactor *red = redactor_new();

	if (env_build(environ, NULL, 0, false, "/", &env) == 0)
		add_env_literals(red, env.removed);
	env_result_free(&env);
	return red;
}

static void print_exec_json(const struct session *s, unsigned step, int code, int sig,
			    struct pump pumps[3], const char *error_text)
{
	static const char *const names[3] = {NULL, "stdout", "stderr"};
	struct redactor *red = exec_redactor();
	cJSON *o = cJSON_CreateObject();
	bool truncated = false;
	char *text;

	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "session", s->id);
	if (step)
		cJSON_AddNumberToObject(o, "step", step);
	else
		cJSON_AddNullToObject(o, "step");
	cJSON_AddNumberToObject(o, "exit_code", code);
	if (sig)
		cJSON_AddNumberToObject(o, "signal", sig);
	else
		cJSON_AddNullToObject(o, "signal");
	for (int k = 1; k < 3; k++) {
		size_t len;
		char *out = redactor_apply(red, pumps[k].keep.data ? pumps[k].keep.data : "",
					   pumps[k].keep.len, &len);

		cJSON_AddItemToObject(o, names[k], json_text(out));
		free(out);
		truncated |= pumps[k].dropped > 0;
	}
	cJSON_AddBoolToObject(o, "truncated", truncated);
	if (error_text)
		cJSON_AddItemToObject(o, "error", json_text(error_text));
	text = cJSON_PrintUnformatted(o);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
	redactor_free(red);
}

static int exec_signals(sigset_t *old)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, old) < 0)
		return -1;
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct exec_outcome {
	unsigned step;
	int code, sig;
	bool handed;	 /* a LIVE_HANDED came */
	int hand_err;	 /* its -errno */
	struct buf hand; /* its content: the caller inits and releases it */
	char text[512];
	int interrupted; /* a signal that came to us (and was passed on to the step) */
	bool timed_out;
};

/*
 * The timeout of an exec: past the deadline the step gets SIGTERM, then SIGKILL two seconds
 * later. True when a signal was sent (the deadline moved); else *wait is the poll's timeout.
 */
static bool exec_deadline(int sock, long long *deadline, struct exec_outcome *r, int *wait)
{
	long long left;

	if (*deadline < 0)
		return false;
	left = *deadline - now_ms();
	if (left <= 0) {
		struct live_msg m = {.magic = LIVE_MAGIC,
				     .type = LIVE_SIGNAL,
				     .arg = r->timed_out ? SIGKILL : SIGTERM};

		send_request(sock, &m, NULL, NULL, 0);
		r->timed_out = true;
		*deadline = m.arg == SIGKILL ? -1 : now_ms() + 2000;
		return true;
	}
	*wait = left > 1000000 ? 1000000 : (int)left;
	return false;
}

/* Pass the signals that came to us on to the step. */
static void pass_signals(int sock, int sigfd, struct exec_outcome *r)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct live_msg m = {
			.magic = LIVE_MAGIC, .type = LIVE_SIGNAL, .arg = (int)si.ssi_signo};

		send_request(sock, &m, NULL, NULL, 0);
		r->interrupted = (int)si.ssi_signo;
	}
}

/* One answer from the session into r. True once the step is over (or the session gone). */
static bool read_exec_answer(int sock, struct exec_outcome *r)
{
	struct live_msg m;
	int rc = read_answer_bytes(sock, &m, r->text, sizeof(r->text), &r->hand);

	if (rc < 0) {
		snprintf(r->text, sizeof(r->text), "the session went away");
		r->code = EXIT_AIRLOCK_FAILED;
		return true;
	}
	switch (m.type) {
	case LIVE_STEP:
		test_mark("exec: step started");
		r->step = m.step;
		break;
	case LIVE_HANDED:
		r->handed = true;
		r->hand_err = m.arg < 0 ? m.arg : 0;
		break;
	case LIVE_EXIT:
		test_mark("exec: exit received");
		r->code = m.arg;
		r->sig = m.arg2;
		r->text[0] = '\0';
		return true;
	case LIVE_ERROR:
		r->code = m.arg ? m.arg : EXIT_AIRLOCK_FAILED;
		return true;
	}
	return false;
}

/*
 * The loop of an exec: answers from the session, our signals passed on (sigfd, or -1), the
 * pumps. A timeout (ms, 0 for none) sends the step SIGTERM, then SIGKILL two seconds later.
 * Fills r once the step ended and its output is through.
 */
static void exec_loop(int sock, int sigfd, struct pump pumps[3], int timeout_ms,
		      struct exec_outcome *r)
{
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
	bool over = false;

	struct buf hand = r->hand;

	*r = (struct exec_outcome){.code = -1, .hand = hand};
	while (!over || pumps[1].from >= 0 || pumps[2].from >= 0) {
		struct pollfd pf[5];
		int idx[5], n = 0, wait = -1;

		if (!over) {
			if (exec_deadline(sock, &deadline, r, &wait))
				continue;
			pf[n] = (struct pollfd){.fd = sock, .events = POLLIN};
			idx[n++] = -1;
			pf[n] = (struct pollfd){.fd = sigfd, .events = POLLIN};
			idx[n++] = -2;
		}
		for (int k = 0; k < 3; k++)
			if (pumps[k].from >= 0 && (k > 0 || !over)) {
				pf[n] = (struct pollfd){.fd = pumps[k].from, .events = POLLIN};
				idx[n++] = k;
			}
		/* Once the step ended, its output is through when no one else holds the pipe;
		   a background process that keeps it gets a moment, not forever. */
		if (poll(pf, (nfds_t)n, over ? 200 : wait) == 0 && over)
			break;
		for (int i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (idx[i] >= 0)
				pump_read(&pumps[idx[i]]);
			else if (idx[i] == -2)
				pass_signals(sock, sigfd, r);
			else if (read_exec_answer(sock, r))
				over = true;
		}
	}
}

/* exec_loop() for the command line: the result printed. Returns the exit status. */
static int exec_wait(int sock, int sigfd, struct pump pumps[3], const struct exec_opts *o,
		     const struct session *s)
{
	struct exec_outcome r;

	buf_init(&r.hand);
	exec_loop(sock, sigfd, pumps, 0, &r);
	if (o->hand_back_real && r.handed && r.hand_err == 0) {
		hand_back_write(o->hand_back_real, &r.hand);
	} else if (o->hand_back_real && r.handed && r.hand_err != -ENOENT) {
		error("exec: --hand-back %s: not handed back: %s", o->hand_back,
		      r.hand_err == -ELOOP    ? "a symlink in the session"
		      : r.hand_err == -EINVAL ? "not a regular file in the session"
		      : r.hand_err == -EFBIG  ? "larger than 64 KiB in the session"
					      : strerror(-r.hand_err));
	} else if (o->hand_back_real && !r.handed && r.step && r.code >= 0 && !r.text[0]) {
		error("exec: --hand-back %s: the session sent nothing back", o->hand_back);
	}
	buf_release(&r.hand);
	if (o->json) {
		print_exec_json(s, r.step, r.code, r.sig, pumps, r.text[0] ? r.text : NULL);
	} else if (r.text[0]) {
		cleanup_free char *safe = term_sanitize(r.text);

		error("exec: session %s: %s", s->id, safe);
	}
	return r.code;
}

/*
 * Connect to the live session s; a live session that finished when its supervisor went
 * away (the machine restarted) is restarted first. The socket, or -1; an exit status other
 * than 0 from the restart in *rc.
 */
static int connect_or_restart(struct session *s, int *rc)
{
	int sock = live_connect(s);
	cJSON *meta;
	const char *state;

	*rc = 0;
	if (sock >= 0)
		return sock;
	meta = store_read_meta(s);
	state = meta ? meta_str(meta, "state") : NULL;
	if (meta && state && strcmp(state, "finished") == 0 &&
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(meta, "live")) &&
	    !store_in_use(s->id)) {
		*rc = restart(s, meta);
		cJSON_Delete(meta);
		return *rc ? -1 : live_connect(s);
	}
	cJSON_Delete(meta);
	return -1;
}

/* Send the exec request m with its body and our ends of the step's stdio (pumps set up). */
static int send_exec(int sock, struct live_msg *m, struct buf *body, bool json,
		     struct pump pumps[3])
{
	int fds[3], theirs[3], rc;

	exec_stdio(json, fds, pumps, theirs);
	rc = send_request(sock, m, body, fds, 3);
	buf_release(body);
	for (int k = 0; k < 3; k++)
		if (theirs[k] >= 0)
			close(theirs[k]);
	return rc;
}

static void close_pumps(struct pump pumps[3])
{
	for (int k = 0; k < 3; k++) {
		if (pumps[k].from > STDERR_FILENO)
			close(pumps[k].from);
		if (pumps[k].to > STDERR_FILENO)
			close(pumps[k].to);
		buf_release(&pumps[k].keep);
	}
}

/* The session did not take the exec (send's error rc): say why. The exit status. */
static int exec_refused(int sock, const struct session *s, int rc)
{
	struct live_msg a;
	char text[512];

	/* The supervisor may have refused us before reading: its answer says why. */
	if (read_answer(sock, &a, text, sizeof(text)) == 0 && a.type == LIVE_ERROR) {
		cleanup_free char *safe = term_sanitize(text);

		error("exec: session %s: %s", s->id, safe);
		return a.arg ? a.arg : EXIT_AIRLOCK_FAILED;
	}
	error_rc(rc, "exec: cannot reach session %s", s->id);
	return EXIT_AIRLOCK_FAILED;
}

/*
 * /dev/null on each of stdin, stdout and stderr that is closed, before anything else is
 * opened: the step gets /dev/null there (exec_stdio()), and no descriptor of ours (the
 * socket, the signalfd) takes the number and is taken for the caller's stream.
 */
static void occupy_closed_stdio(void)
{
	for (int k = 0; k <= STDERR_FILENO; k++)
		if (fcntl(k, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			die_errno("cannot open /dev/null");
}

int cmd_exec(int argc, char **argv)
{
	struct exec_opts o = {0};
	struct session s = {.lock_fd = -1};
	struct live_msg m = {.magic = LIVE_MAGIC, .type = LIVE_EXEC};
	struct pump pumps[3];
	struct buf body;
	int sock, sigfd, nargs = 0, rc, code;
	sigset_t old;

	rc = parse_exec(argc, argv, &o);
	if (rc >= 0)
		return rc;
	test_mark("exec: options");
	err_set_die_status(EXIT_AIRLOCK_FAILED);
	occupy_closed_stdio();
	if (store_find(o.id, &s) < 0)
		return EXIT_AIRLOCK_FAILED;
	test_mark("exec: session found");
	sock = connect_or_restart(&s, &rc);
	if (rc)
		return rc;
	if (sock < 0) {
		rc = not_live(&s, "exec");
		store_close(&s);
		return rc;
	}
	if (o.hand_back) {
		o.hand_back_real = hand_back_target(o.hand_back);
		if (!o.hand_back_real)
			return EXIT_AIRLOCK_FAILED;
	}
	if (exec_body(&o, &body, &nargs) < 0)
		return EXIT_AIRLOCK_FAILED;
	m.arg = nargs;
	m.arg2 = (o.dir ? LIVE_CWD_GIVEN : 0) | (o.hand_back_real ? LIVE_HAND_BACK : 0);
	sigfd = exec_signals(&old);
	if (sigfd < 0)
		die_errno("cannot watch signals");
	test_mark("exec: connected");
	rc = send_exec(sock, &m, &body, o.json, pumps);
	if (rc < 0)
		return exec_refused(sock, &s, rc);
	test_mark("exec: request sent");
	if (pumps[0].to >= 0)
		fcntl(pumps[0].to, F_SETFL, O_NONBLOCK);
	code = exec_wait(sock, sigfd, pumps, &o, &s);
	close_pumps(pumps);
	close(sigfd);
	close(sock);
	sigprocmask(SIG_SETMASK, &old, NULL);
	store_close(&s);
	free(o.hand_back_real);
	test_mark("exec: end");
	return code < 0 ? EXIT_AIRLOCK_FAILED : code;
}

int live_exec_capture(const struct session *s, char **argv, const char *dir, int timeout_ms,
		      size_t max_output, int sigfd, struct live_capture *r)
{
	struct exec_opts o = {.dir = dir, .command = argv};
	struct live_msg m = {.magic = LIVE_MAGIC, .type = LIVE_EXEC};
	struct pump pumps[3];
	struct exec_outcome out;
	struct redactor *red;
	struct buf body = BUF_INIT;
	int nargs = 0, rc;
	cleanup_fd int sock = -1;

	*r = (struct live_capture){.exit_code = -1};
	sock = live_connect(s);
	if (sock < 0) {
		cJSON *meta = store_read_meta(s);

		snprintf(r->error, sizeof(r->error), "session %s is not live (%s)", s->id,
			 meta ? session_state(s, meta) : "unknown");
		cJSON_Delete(meta);
		return -ENOTCONN;
	}
	if (exec_body(&o, &body, &nargs) < 0) {
		buf_release(&body);
		snprintf(r->error, sizeof(r->error),
			 "the command line and environment are too long for a live session");
		return -E2BIG;
	}
	m.arg = nargs;
	m.arg2 = dir ? LIVE_CWD_GIVEN : 0;
	signal(SIGPIPE, SIG_IGN);
	rc = send_exec(sock, &m, &body, true, pumps);
	pumps[1].max = pumps[2].max = max_output; /* nothing was read yet */
	if (rc < 0) {
		if (read_answer(sock, &m, r->error, sizeof(r->error)) < 0 || m.type != LIVE_ERROR)
			snprintf(r->error, sizeof(r->error), "cannot reach session %s: %s", s->id,
				 strerror(-rc));
	} else {
		exec_loop(sock, sigfd, pumps, timeout_ms, &out);
		r->step = out.step;
		r->exit_code = out.code < 0 ? EXIT_AIRLOCK_FAILED : out.code;
		r->signal = out.sig;
		r->timed_out = out.timed_out;
		r->interrupted = out.interrupted;
		snprintf(r->error, sizeof(r->error), "%s", out.text);
		red = exec_redactor();
		r->out = redactor_apply(red, pumps[1].keep.data ? pumps[1].keep.data : "",
					pumps[1].keep.len, &r->out_len);
		r->err = redactor_apply(red, pumps[2].keep.data ? pumps[2].keep.data : "",
					pumps[2].keep.len, &r->err_len);
		redactor_free(red);
		r->truncated = pumps[1].dropped > 0 || pumps[2].dropped > 0;
	}
	close_pumps(pumps);
	return rc < 0 ? rc : 0;
}

void live_capture_free(struct live_capture *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static const char stop_usage[] =
	"usage: airlock stop ID [-t SECONDS]\n"
	"\n"
	"End live session ID: its running steps get SIGTERM, and SIGKILL after the grace\n"
	"(-t, default 5 seconds); the record is sealed, and the session can then be\n"
	"reviewed, committed or discarded as any run. A session whose supervisor is gone\n"
	"(shown as interrupted) is sealed as it was left.\n";

/*
 * A session nobody holds whose record was never sealed: its supervisor died, and its sandbox
 * with it (pid 1 dies with its parent). Seal what the upper directories hold, saying so.
 */
static int recover(struct session *s)
{
	struct session_record rec = {.s = s, .nchanges = -1};
	struct event_log log = {.fd = -1};
	cleanup_free char *events = session_path(s, "events.jsonl");
	cJSON *live;

	rec.meta = store_read_meta(s);
	if (!rec.meta)
		return EXIT_AIRLOCK_FAILED;
	clock_gettime(CLOCK_MONOTONIC, &rec.started);
	if (seal_open_log(&log, events, rec.meta) < 0) {
		cJSON_Delete(rec.meta);
		return EXIT_AIRLOCK_FAILED;
	}
	cJSON_AddBoolToObject(rec.meta, "recovered", true);
	live = cJSON_GetObjectItemCaseSensitive(rec.meta, "live");
	if (cJSON_IsObject(live) && !cJSON_GetObjectItemCaseSensitive(live, "ended_by"))
		cJSON_AddStringToObject(live, "ended_by", "supervisor gone");
	session_record_finish(&rec, &log, EXIT_AIRLOCK_FAILED, 0, NULL, 0, false, false);
	fprintf(stderr,
		"airlock: session %s: its supervisor was gone; sealed with %ld change%s held as "
		"the sandbox left them ('airlock review %s')\n",
		s->id, rec.nchanges > 0 ? rec.nchanges : 0, rec.nchanges == 1 ? "" : "s", s->id);
	events_close(&log);
	session_record_free(&rec);
	return 0;
}

/* stop on a session that does not answer: seal it if it was left unsealed. */
static int stop_not_live(const char *arg)
{
	struct session s = {.lock_fd = -1};
	cJSON *meta;
	int rc;

	if (store_open(arg, true, &s) < 0)
		return EXIT_AIRLOCK_FAILED;
	meta = store_read_meta(&s);
	/* We hold its lock: a "running" record has nobody running it any more. */
	if (meta && meta_str(meta, "state") && strcmp(meta_str(meta, "state"), "running") == 0) {
		rc = recover(&s);
	} else {
		fprintf(stderr, "airlock: session %s is not live (%s): nothing to stop\n", s.id,
			meta ? session_state(&s, meta) : "unknown");
		rc = 0;
	}
	cJSON_Delete(meta);
	store_close(&s);
	return rc;
}

int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct session s = {.lock_fd = -1};
	struct live_msg m = {.magic = LIVE_MAGIC, .type = LIVE_STOP, .arg = 5};
	char text[512];
	const char *id;
	int c, sock, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > 600) {
				error("stop: -t %s: expected seconds, 0 to 600", optarg);
				return EXIT_USAGE;
			}
			m.arg = (int)v;
			break;
		}
		case 'h':
			fputs(stop_usage, stdout);
			return 0;
		default:
			option_error("stop", argv[optind - 1], opts, stop_usage + 7);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "airlock: stop: %s\n%.*s\n",
			optind >= argc ? "no session given" : "one session at a time",
			(int)strcspn(stop_usage, "\n"), stop_usage);
		return EXIT_USAGE;
	}
	id = argv[optind];
	if (store_find(id, &s) < 0)
		return EXIT_AIRLOCK_FAILED;
	sock = live_connect(&s);
	if (sock < 0) {
		store_close(&s);
		return stop_not_live(id);
	}
	rc = send_request(sock, &m, NULL, NULL, 0);
	while (rc == 0) {
		rc = read_answer(sock, &m, text, sizeof(text));
		if (rc < 0 || m.type == LIVE_STOPPED || m.type == LIVE_ERROR)
			break;
	}
	close(sock);
	if (rc < 0 || m.type != LIVE_STOPPED) {
		cleanup_free char *safe = term_sanitize(rc < 0 ? "the session went away" : text);

		error("stop: session %s: %s", s.id, safe);
		store_close(&s);
		return EXIT_AIRLOCK_FAILED;
	}
	/* The supervisor answers once the record is sealed, then exits: the commands a caller
	   runs next (review, commit, exec) would find the session still locked. */
	if (store_wait_released(&s, 10000) < 0)
		fprintf(stderr, "airlock: stop: session %s: its supervisor is still exiting\n",
			s.id);
	if (m.arg > 0)
		fprintf(stderr,
			"airlock: session %s stopped: %d change%s held in the sandbox; 'airlock "
			"review %s' decides them, 'airlock commit %s' applies the approved ones\n",
			s.id, m.arg, m.arg == 1 ? "" : "s", s.id, s.id);
	else
		fprintf(stderr, "airlock: session %s stopped: no changes\n", s.id);
	store_close(&s);
	return 0;
}

/* --- airlock attend ------------------------------------------------------------------- */

static const char attend_usage[] =
	"usage: airlock attend [ID] [--json]\n"
	"\n"
	"Answer the asks of live sessions started with --ask attend, from this terminal:\n"
	"each question is shown as the terminal prompt of 'airlock run' shows it, with its\n"
	"keys (y allow once, a allow for the session, n deny once, d deny for the\n"
	"session). Without ID, every live session of yours. Ctrl-C stops attending; the\n"
	"asks then wait for the next attend, or their --ask-timeout.\n"
	"\n"
	"      --json     speak JSON lines instead (the approver protocol of --ask fd:N,\n"
	"                 each ask with its \"session\"; an answer names its \"session\"\n"
	"                 when more than one is attended)\n";

struct attended {
	char *id;
	int fd; /* -1 once the session ended */
};

/* An ask on the terminal: which session's, and its id there. */
struct shown_ask {
	size_t session;
	unsigned remote;
	struct prompt_item *item;
};

struct attend {
	struct attended *s;
	size_t n;
	bool json;
	struct prompt *tty;
	struct shown_ask *asks;
	size_t nasks, casks;
	unsigned next_id;
	struct buf in; /* --json: a partial answer line from stdin */
};

/* Connect to session id and become its attender. The fd, or -1 after saying why. */
static int attend_one(const char *id)
{
	struct session s = {.lock_fd = -1};
	struct live_msg m = {.magic = LIVE_MAGIC, .type = LIVE_ATTEND};
	char text[512];
	int fd;

	if (store_find(id, &s) < 0)
		return -1;
	fd = live_connect(&s);
	if (fd < 0) {
		not_live(&s, "attend");
		store_close(&s);
		return -1;
	}
	if (send_request(fd, &m, NULL, NULL, 0) < 0 ||
	    read_answer(fd, &m, text, sizeof(text)) < 0 || m.type != LIVE_STEP) {
		cleanup_free char *safe = term_sanitize(text[0] ? text : "it went away");

		error("attend: session %s: %s", s.id, safe);
		close(fd);
		fd = -1;
	}
	store_close(&s);
	return fd;
}

/* The sessions to attend: the one named, or every live one of this user's store. */
static int attend_sessions(struct attend *at, const char *id)
{
	cleanup_strvec struct strvec list = STRVEC_INIT;
	char **ids;
	size_t n;

	if (id) {
		struct session s = {.lock_fd = -1};
		int fd;

		if (store_find(id, &s) < 0)
			return -1;
		fd = attend_one(s.id);
		if (fd >= 0) {
			at->s = xcalloc(1, sizeof(*at->s));
			at->s[at->n++] = (struct attended){.id = xstrdup(s.id), .fd = fd};
		}
		store_close(&s);
		return at->n ? 0 : -1;
	}
	if (store_list(&list) < 0)
		return -1;
	ids = list.v;
	n = list.n;
	at->s = xcalloc(n ? n : 1, sizeof(*at->s));
	for (size_t i = 0; i < n; i++) {
		if (store_in_use(ids[i])) {
			struct session s = {.id = ids[i], .lock_fd = -1};
			cleanup_free char *root = store_root();
			cleanup_free char *dir =
				root ? xasprintf("%s/sessions/%s", root, ids[i]) : NULL;
			cJSON *meta;

			s.dir = dir;
			meta = dir ? store_read_meta(&s) : NULL;
			if (meta && strcmp(session_state(&s, meta), "live") == 0) {
				int fd = attend_one(ids[i]);

				if (fd >= 0)
					at->s[at->n++] =
						(struct attended){.id = xstrdup(ids[i]), .fd = fd};
			}
			cJSON_Delete(meta);
		}
	}
	if (at->n == 0)
		return error("attend: no live session of yours waits for answers (start one with "
			     "'airlock start --ask attend')");
	return 0;
}

static void attend_send(struct attend *at, size_t i, unsigned id, bool allow, bool remember)
{
	char line[128];
	int len = snprintf(line, sizeof(line),
			   "{\"id\":%u,\"decision\":\"%s\",\"remember\":\"%s\"}\n", id,
			   allow ? "allow" : "deny", remember ? "session" : "once");

	if (at->s[i].fd >= 0 && send(at->s[i].fd, line, (size_t)len, MSG_NOSIGNAL) < 0)
		warn("attend: session %s did not take the answer", at->s[i].id);
}

/* A question for the terminal prompt, from the JSON line the session sent. */
static void attend_show(struct attend *at, size_t i, const cJSON *ask)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(ask, "id");
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(ask, "command");
	cleanup_free char *who = join_argv(cJSON_GetObjectItemCaseSensitive(ask, "argv"));
	cleanup_free char *cmd = cJSON_IsArray(command) ? join_argv(command) : NULL;
	struct prompt_question q = {
		.cls = meta_str(ask, "class") ?: "?",
		.target = meta_str(ask, "target") ?: "?",
		.name = meta_str(ask, "name"),
		.rule = meta_str(ask, "rule"),
		.who = who,
		.command = cmd,
		.pid = (int)meta_num(ask, "pid", 0),
	};
	struct shown_ask *s;

	if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble >= 4294967296.0)
		return;
	GROW(at->asks, at->casks, at->nasks + 1);
	s = &at->asks[at->nasks++];
	s->session = i;
	s->remote = (unsigned)id->valuedouble;
	s->item = prompt_add(at->tty, &q, ++at->next_id);
}

/* A message from session i: an ask (shown or printed), or its end (NULL line). */
static void attend_from_session(struct attend *at, size_t i)
{
	char buf[1 << 17];
	ssize_t n = recv(at->s[i].fd, buf, sizeof(buf) - 1, 0);
	cJSON *ask;

	if (n <= 0) {
		fprintf(stderr, "airlock: attend: session %s ended\n", at->s[i].id);
		close(at->s[i].fd);
		at->s[i].fd = -1;
		for (size_t k = 0; k < at->nasks;) {
			if (at->asks[k].session == i) {
				prompt_remove(at->tty, at->asks[k].item);
				at->asks[k] = at->asks[--at->nasks];
			} else {
				k++;
			}
		}
		return;
	}
	buf[n] = '\0';
	ask = cJSON_Parse(buf);
	if (!cJSON_IsObject(ask)) {
		cJSON_Delete(ask);
		return;
	}
	if (at->json) {
		char *text;

		cJSON_AddStringToObject(ask, "session", at->s[i].id);
		text = cJSON_PrintUnformatted(ask);
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	} else {
		attend_show(at, i, ask);
	}
	cJSON_Delete(ask);
}

/* --json: one answer line from stdin, to the session it names. */
static void attend_json_answer(struct attend *at, const char *line)
{
	cJSON *o = cJSON_Parse(line);
	const char *sid = cJSON_IsObject(o) ? meta_str(o, "session") : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	const char *dec = cJSON_IsObject(o) ? meta_str(o, "decision") : NULL;
	const char *rem = cJSON_IsObject(o) ? meta_str(o, "remember") : NULL;
	size_t i = 0;

	if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble >= 4294967296.0 || !dec ||
	    (strcmp(dec, "allow") != 0 && strcmp(dec, "deny") != 0)) {
		warn("attend: not an answer ({\"id\":N,\"decision\":\"allow\"|\"deny\",\"remember\":"
		     "\"once\"|\"session\",\"session\":ID}); ignored");
		cJSON_Delete(o);
		return;
	}
	if (sid) {
		for (i = 0; i < at->n && strcmp(at->s[i].id, sid) != 0; i++)
			;
	} else if (at->n != 1) {
		i = at->n;
	}
	if (i >= at->n)
		warn("attend: the answer names no attended session (\"session\": ID); ignored");
	else
		attend_send(at, i, (unsigned)id->valuedouble, strcmp(dec, "allow") == 0,
			    rem && strcmp(rem, "session") == 0);
	cJSON_Delete(o);
}

static bool attend_stdin(struct attend *at)
{
	char chunk[4096];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
	char *nl;

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	buf_add(&at->in, chunk, (size_t)n);
	while ((nl = memchr(at->in.data, '\n', at->in.len))) {
		size_t len = (size_t)(nl - at->in.data);
		cleanup_free char *line = xstrndup(at->in.data, len);

		memmove(at->in.data, nl + 1, at->in.len - len - 1);
		at->in.len -= len + 1;
		if (line[0])
			attend_json_answer(at, line);
	}
	if (at->in.len > 65536)
		buf_reset(&at->in);
	return true;
}

static void attend_keys(struct attend *at)
{
	struct prompt_reply r;

	while (prompt_read(at->tty, &r) > 0) {
		for (size_t k = 0; k < at->nasks; k++) {
			if (prompt_item_id(at->asks[k].item) != r.id)
				continue;
			attend_send(at, at->asks[k].session, at->asks[k].remote, r.allow,
				    r.remember);
			prompt_remove(at->tty, at->asks[k].item);
			at->asks[k] = at->asks[--at->nasks];
			break;
		}
	}
}

/* attend's options; -1 to go on, else the exit status. */
static int parse_attend_args(int argc, char **argv, struct attend *at)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			at->json = true;
			break;
		case 'h':
			fputs(attend_usage, stdout);
			return 0;
		default:
			option_error("attend", argv[optind - 1], opts, attend_usage + 7);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "airlock: attend: one session, or none for all\n%.*s\n",
			(int)strcspn(attend_usage, "\n"), attend_usage);
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * Answer asks until every session ended, a signal came (sigfd) or the person left: the
 * answers come from stdin (--json) or the terminal's prompt. 0, or the exit status.
 */
static int attend_loop(struct attend *at, int sigfd)
{
	for (;;) {
		struct pollfd pf[66];
		size_t idx[66];
		nfds_t n = 0;
		bool any = false;

		pf[n] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		idx[n++] = (size_t)-1;
		if (at->json)
			pf[n] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		else
			pf[n] = (struct pollfd){.fd = prompt_fd(at->tty), .events = POLLIN};
		idx[n++] = (size_t)-2;
		for (size_t i = 0; i < at->n && n < 66; i++)
			if (at->s[i].fd >= 0) {
				pf[n] = (struct pollfd){.fd = at->s[i].fd, .events = POLLIN};
				idx[n++] = i;
				any = true;
			}
		if (!any)
			return 0; /* every session ended */
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return EXIT_AIRLOCK_FAILED;
		}
		if (pf[0].revents)
			return 0;
		if (pf[1].revents) {
			if (at->json && !attend_stdin(at))
				return 0;
			if (!at->json)
				attend_keys(at);
			if (!at->json && prompt_gone(at->tty))
				return 0;
		}
		for (nfds_t k = 2; k < n; k++)
			if (pf[k].revents)
				attend_from_session(at, idx[k]);
	}
}

static void attend_free(struct attend *at)
{
	for (size_t i = 0; i < at->n; i++) {
		if (at->s[i].fd >= 0)
			close(at->s[i].fd);
		free(at->s[i].id);
	}
	free(at->s);
	free(at->asks);
	buf_release(&at->in);
	if (at->tty)
		prompt_close(at->tty);
}

int cmd_attend(int argc, char **argv)
{
	struct attend at = {0};
	sigset_t mask, old;
	int sigfd, rc = parse_attend_args(argc, argv, &at);

	if (rc >= 0)
		return rc;
	buf_init(&at.in);
	if (!at.json) {
		at.tty = prompt_open();
		if (!at.tty)
			return EXIT_REFUSED;
	}
	if (attend_sessions(&at, optind < argc ? argv[optind] : NULL) < 0) {
		if (at.tty)
			prompt_close(at.tty);
		return EXIT_REFUSED;
	}
	for (size_t i = 0; i < at.n; i++)
		fprintf(stderr, "airlock: attend: answering the asks of session %s\n", at.s[i].id);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0) {
		/* With the signals blocked and no descriptor to read them, Ctrl-C could not stop
		 * it. */
		error_errno("attend: cannot watch for signals");
		sigprocmask(SIG_SETMASK, &old, NULL);
		attend_free(&at);
		return EXIT_AIRLOCK_FAILED;
	}
	rc = attend_loop(&at, sigfd);
	attend_free(&at);
	close(sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
