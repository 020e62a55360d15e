/* SPDX-License-Identifier: MIT */
/* The rules grammar of airlock-rules(5): parse rules files, check that they are safe, match. */
#ifndef AIRLOCK_RULES_RULES_H
#define AIRLOCK_RULES_RULES_H

// The grammar. (Written with // because its glob examples hold the characters that would
// end a C comment.)
//
// Pure code: no curses, no seccomp, no I/O beyond reading a rules file (and stat() of its
// directories in rules_file_trusted()).
//
// Grammar, one rule per line; '#' starts a comment at the start of a line or after
// whitespace; blank lines are ignored; a CR before the LF is ignored:
//
//     allow|deny|ask|defer  exec     PROGRAM [ARG-GLOB...] [$]
//     allow|deny|ask        connect  TARGET...
//     allow|deny|ask        write    PATH-GLOB...
//     hide|readonly|scratch          PATH...
//     redact                KIND     ERE
//     sensitive                      PATH-GLOB...   [# reason]
//
// Words are separated by spaces or tabs. Double quotes group (`"My Documents"`, and a word may
// mix quoted and bare parts: `~/"My Documents"/**`); inside them `\"` and `\\` stand for `"`
// and `\`, any other backslash is kept. Quoting only groups: expansion and globbing still
// apply. A word listing several patterns makes one rule per pattern (connect, write and the
// path directives); an exec line is one rule.
//
// Paths (write, hide/readonly/scratch, exec PROGRAM when it is a path, unix:PATH) start with
// `/`, `~` or `~/`, `$HOME` or `$HOME/` (the home directory), `.` or `./` (the starting
// directory); any other relative path and any `..` component is refused. Expanded paths are
// normalised lexically ("//" and "." removed); nothing resolves symlinks.
//
// Globs: `*` matches any run of bytes within one path component (dot files included); a whole
// component `**` matches zero or more components, so `./**` matches the starting directory
// itself and everything below it, and `/a/**` + `/b` matches `/a/b`. `**` inside a component
// (`**.py`) is refused as ambiguous. `\*` matches a literal `*` and `\\` a backslash (any other
// backslash is an ordinary byte); the home and starting directories are inserted escaped, so
// a directory named `*` stays literal.
//
// exec: PROGRAM containing '/' or starting with `~`, `$HOME` or `.` is a path glob matched
// against the executable's path; otherwise it is a glob matched against the path's last
// component (`git`, `python3*`, `*`). ARG-GLOBs are matched against argv[1], argv[2], ... in
// order; there `*` matches any bytes, '/' included. Further arguments are allowed, unless
// the last word is a bare `$` (not quoted), which means "and no more arguments": `git push`
// matches `git push origin main`; `git status $` matches only `git status`. A quoted "$" is
// a literal argument. Arguments are not expanded (`~` stays `~`).
//
// connect TARGET:
//   `*`                      every destination: every host and port, and every Unix socket
//   HOST, HOST:PORT          HOST is `*` (any host), an IPv4 or IPv6 address, a CIDR
//                            (10.0.0.0/8, 2001:db8::/32; host bits are masked), or a host
//                            name glob (`*.github.com`, where `*` may span dots); IPv6 with a
//                            port in brackets: `[::1]:8080`, `[2001:db8::/32]:443`
//   PORT                     a number, a range `8000-8100`, or `*`; none means any port
//   unix:*                   every Unix socket, pathname or abstract
//   unix:PATH-GLOB           pathname Unix sockets
//   unix:@NAME-GLOB          abstract Unix sockets (`*` matches any bytes there)
// Names are compared case-insensitively, a trailing dot ignored. An address rule matches the
// destination address; a name rule matches the name the program looked up (which the
// supervisor's DNS records), never an address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
// is IPv4, in rules and in targets alike (so 10.0.0.0/8 matches ::ffff:10.1.2.3; an IPv6 CIDR
// shorter than /96, such as ::/0, matches only real IPv6).
//
// hide/readonly/scratch: plain paths (a glob is refused: a hidden path that silently failed
// to match would leave a secret visible). For one path, the last directive wins, so a later
// file can turn the default `hide ~/.docker` into `readonly ~/.docker`.
//
// redact KIND ERE: in captured output (--capture, --json) every match of the POSIX extended
// regular expression ERE (one word: quote it when it holds spaces or `#`) is replaced by
// "[REDACTED:KIND]" and counted as KIND, beside the built-in patterns. KIND is 1-32 of
// [a-z0-9_.-], starting with a letter or digit. An expression that does not compile, or
// that matches the empty string, is refused.
//
// sensitive PATH-GLOB: a change at a matching path would run code on the host later without
// the person running it (git hooks, shell start-up files, editor and CI configuration, ...).
// Such a change starts undecided whatever write rule covers it, unless the write rule that
// decides it allows it and names that exact path (no wildcard). The comment after the line,
// when there is one, is the reason shown to the person. The built-in defaults hold the class.
//
// Matching: for exec, connect and write, the last matching rule wins (the rules of the
// defaults, then of each file in load order), as in doas.conf.

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Longest line accepted, without its newline. */
#define RULES_MAX_LINE 4096

/* Largest rules file accepted. */
#define RULES_MAX_FILE (1024 * 1024)

/* The source name of the built-in defaults: decisions name "<defaults>:LINE". */
#define RULES_DEFAULTS_NAME "<defaults>"

enum rule_action {
	RULE_ALLOW,
	RULE_DENY,
	RULE_ASK,
	RULE_DEFER, /* exec only */
	RULE_HIDE,  /* path directives (class RULE_PATH) */
	RULE_READONLY,
	RULE_SCRATCH,
	RULE_REDACT,	/* redaction of captured output (class RULE_OUTPUT) */
	RULE_SENSITIVE, /* paths whose change runs code on the host later (class RULE_RISK) */
};

enum rule_class {
	RULE_EXEC,
	RULE_CONNECT,
	RULE_WRITE,
	RULE_PATH,   /* hide, readonly, scratch */
	RULE_OUTPUT, /* redact */
	RULE_RISK,   /* sensitive */
};

/* One rule, as callers see it. The ruleset owns it and every string it points to. */
struct rule {
	enum rule_action action;
	enum rule_class cls;
	const char *source; /* RULES_DEFAULTS_NAME or the file's path as given */
	unsigned int line;  /* 1-based line in source */
	const char *text;   /* the pattern as written, re-quoted where needed (exec: all words) */
	const char *path;   /* RULE_PATH: the absolute, normalised path; NULL otherwise */
	const char *kind;   /* RULE_REDACT: the name a redaction is counted under; else NULL */
	const char *expr;   /* RULE_REDACT: the expression, unquoted; else NULL */
	const char *reason; /* RULE_SENSITIVE: the line's comment, or NULL when it has none */
};

/* Rules from several sources, in load order. Initialise with RULESET_INIT. */
struct ruleset {
	struct rule **rules; /* owned; each rule stays at its address until rules_release() */
	size_t n, cap;
	char **sources; /* owned names of the loaded sources, in order */
	size_t nsources, sources_cap;
};

#define RULESET_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0, NULL, 0, 0                                                             \
	}

/* What the expansions stand for. Both absolute; NULL when unknown (using it is an error). */
struct rules_env {
	const char *home; /* `~` and `$HOME` */
	const char *cwd;  /* `.`: the directory airlock was started in */
};

/* Why a file was refused: "file:line: message", or "file: message" when no line is at fault. */
struct rules_error {
	char msg[512];
	unsigned int line; /* 0 when the message is not about one line */
};

/*
 * A connect destination. Fill it by hand (tests, DNS names) or with
 * rules_target_from_sockaddr(). Strings are borrowed.
 */
struct rules_target {
	int family;	  /* AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when only the name is known */
	const char *name; /* AF_INET/AF_INET6/AF_UNSPEC: the host name looked up, or NULL */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	int port;	       /* AF_INET/AF_INET6/AF_UNSPEC: 0-65535, or -1 when unknown */
	bool abstract;	       /* AF_UNIX: an abstract socket */
	const char *unix_name; /* AF_UNIX: the path (absolute), or the abstract name's bytes */
	size_t unix_len;       /* bytes at unix_name (abstract names may hold NUL bytes) */
};

/* "allow", "deny", "ask", "defer", "hide", "readonly", "scratch"; "?" for anything else. */
const char *rule_action_name(enum rule_action action);

/* "exec", "connect", "write", "path"; "?" for anything else. */
const char *rule_class_name(enum rule_class cls);

/* "source:line" of a rule, for the event log's `by`. Caller frees. */
char *rule_origin(const struct rule *r);
/*
 * The same into out (size bytes, at least 12), the source cut to fit: without an allocation or
 * a printf, for the verdict of every notified call.
 */
void rule_origin_to(const struct rule *r, char *out, size_t size);

/* The text of the built-in defaults, exactly as loaded by rules_load_defaults(). */
const char *rules_defaults_text(void);

/*
 * Parse len bytes of rules text named name (used in messages and in each rule's source) and
 * append its rules to rs. All or nothing: on any error nothing is added, err (when not NULL)
 * holds "name:line: message" and -EINVAL is returned (also for more than RULES_MAX_FILE
 * bytes). data need not be NUL-terminated. 0 on success.
 */
int rules_parse_buffer(struct ruleset *rs, const char *name, const char *data, size_t len,
		       const struct rules_env *env, struct rules_error *err);

/* Append the built-in defaults under the name RULES_DEFAULTS_NAME. 0 or -EINVAL (env->home unset).
 */
int rules_load_defaults(struct ruleset *rs, const struct rules_env *env, struct rules_error *err);

/*
 * Read the rules file at path (a regular file of at most RULES_MAX_FILE bytes) and append its
 * rules, all or nothing, as rules_parse_buffer(). Does not check who can write the file: call
 * rules_file_trusted() first. 0, -EINVAL (bad content, not a regular file, too large), or the
 * -errno of open/read; err says which ("path: message" or "path:line: message").
 */
int rules_load_file(struct ruleset *rs, const char *path, const struct rules_env *env,
		    struct rules_error *err);

/*
 * As rules_load_file(), but parsing goes on past a bad line: each bad line's message is
 * handed to each(msg, ctx) as it is found (err then holds the last). All or nothing as ever.
 * `rules check` uses it to name every bad line at once.
 */
int rules_check_file(struct ruleset *rs, const char *path, const struct rules_env *env,
		     struct rules_error *err, void (*each)(const char *msg, void *ctx), void *ctx);

/*
 * Whether a rules file may be trusted by the user uid: it must be a regular file owned by uid
 * or root and not writable by group or others, and every directory through which its path
 * resolves (symlinks followed, each link's directory checked too) must be owned by uid or
 * root and not writable by group or others, unless it is root's and sticky (as /tmp: nobody
 * else can rename or replace our entries there). As doas refuses a doas.conf others can write.
 * 0 when trusted; -EPERM when not; the -errno of stat/readlink/getcwd; -ELOOP after 40
 * symlinks. err holds "path: why" on failure.
 */
int rules_file_trusted(const char *path, uid_t uid, struct rules_error *err);

/*
 * The last exec rule matching an execution of path (absolute; normalised here) with argv
 * (NULL-terminated, may be NULL; argv[0] is not matched). NULL when none matches.
 */
const struct rule *rules_match_exec(const struct ruleset *rs, const char *path, char *const *argv);

/*
 * The last sensitive rule matching path (absolute; normalised here), or NULL: a change there
 * runs code on the host later.
 */
const struct rule *rules_match_sensitive(const struct ruleset *rs, const char *path);

/*
 * For matching many paths (a review's 100,000 changes): which rules may match a path in a
 * directory, and how, is worked out once per directory (glob_match_child()), and each path's
 * name is matched against those only: *write and *sensitive are what rules_match_write() and
 * rules_match_sensitive() give for path. One per thread, zero-initialised; valid for one
 * ruleset, unchanged while it is used. rules_cache_free() frees it.
 */
#define RULES_CACHE_DEPTHS 64
struct rules_cache_dir;
struct rules_cache {
	struct rules_cache_dir *dirs; /* the last directory seen at each depth */
	size_t ndirs;
};
void rules_match_cached(const struct ruleset *rs, struct rules_cache *c, const char *path,
			const struct rule **write, const struct rule **sensitive);
void rules_cache_free(struct rules_cache *c);

/* Whether the write rule r names one exact path (its pattern holds no wildcard). */
bool rules_write_is_exact(const struct rule *r);

/*
 * Rule bodies for "save as a rule" that match exactly one call and nothing else: every name
 * the program chose is glob-escaped and quoted. rules_suggest_exec(): `exec PATH ARG... $`
 * for the executable path (absolute) and argv (argv[0] not matched). rules_suggest_connect():
 * `connect TARGET` for a target as the supervisor shows it (`unix:PATH`, `unix:@NAME`,
 * `HOST:PORT`, an address). Caller frees; NULL when no exact rule can be written (a control
 * character, a host name holding a glob character).
 */
char *rules_suggest_exec(const char *path, char *const *argv);

/* `exec PATH`: the program at the absolute path with any arguments; NULL as above. */
char *rules_suggest_program(const char *path);
char *rules_suggest_connect(const char *target);

/* Whether every exec rule allows (then no exec decision depends on the command's argv). */
bool rules_exec_allows_all(const struct ruleset *rs);

/* The last write rule matching path (absolute; normalised here; a relative path matches none). */
const struct rule *rules_match_write(const struct ruleset *rs, const char *path);

/* The last connect rule matching t; NULL when none does. */
const struct rule *rules_match_connect(const struct ruleset *rs, const struct rules_target *t);

/*
 * The last connect rule matching t (a host-local destination: loopback, with name "localhost",
 * or one of the host's own addresses, with no name) among those that name it explicitly: an
 * address or CIDR within 127.0.0.0/8, a whole address (/32, /128), or the name `localhost`.
 * The host's loopback and its own addresses are reached only through such a rule (`*`,
 * `*:PORT`, `0.0.0.0/0`, a wider CIDR and every other name never do): a name the program
 * looked up never opens them, whatever its DNS answer said. NULL when none matches.
 */
const struct rule *rules_match_loopback(const struct ruleset *rs, const struct rules_target *t);

/* Whether r is a connect rule by host name (it matches names looked up, never addresses). */
bool rule_by_name(const struct rule *r);

/* What connections to a host name (looked up, address not known yet) could come to. */
enum rules_name_reach {
	NAME_DENIED,  /* every connection to it is denied, whatever its port and address */
	NAME_ASKED,   /* none is allowed by a rule, but one would be asked about */
	NAME_ALLOWED, /* a rule allows one at some port (or an address rule that allows could
			 match whatever address it has) */
};

/*
 * How far connections to the host name could go (the sandbox's DNS decides by it). *by is
 * the deny rule that decided (NAME_DENIED at port 0; NULL when no rule matched), the ask
 * rule (NAME_ASKED), or NULL (NAME_ALLOWED).
 */
enum rules_name_reach rules_name_reach(const struct ruleset *rs, const char *name,
				       const struct rule **by);

/*
 * Whether every connection to the host name would be denied (rules_name_reach() says
 * NAME_DENIED). *by is the deny rule that decided (at port 0), or NULL.
 */
bool rules_name_denied(const struct ruleset *rs, const char *name, const struct rule **by);

/*
 * Fill t from a socket address of len bytes (AF_INET, AF_INET6, AF_UNIX), with name as the host
 * name looked up (or NULL). unix_name points into sa. An IPv4-mapped IPv6 address becomes
 * AF_INET. 0, -EINVAL (too short, unnamed Unix socket) or -EAFNOSUPPORT.
 */
int rules_target_from_sockaddr(struct rules_target *t, const struct sockaddr *sa, socklen_t len,
			       const char *name);

/*
 * The path directives of one kind (RULE_HIDE, RULE_READONLY or RULE_SCRATCH) in effect: each
 * path once, for the last directive naming it, in rule order. *out receives a NULL-terminated
 * array of borrowed rules (r->path is the path) that the caller frees with free(). Returns the
 * count.
 */
size_t rules_paths(const struct ruleset *rs, enum rule_action kind, const struct rule ***out);

/*
 * The redact rules in load order: *out receives a NULL-terminated array of borrowed rules
 * (r->kind, r->expr) that the caller frees with free(). Returns the count.
 */
size_t rules_redactions(const struct ruleset *rs, const struct rule ***out);

/*
 * word as one word of a rules line: bare when that reads back the same, else in double quotes
 * with `"` and `\` escaped. For writing rules (the prompt's "save as a rule"). Globs and
 * expansions are not escaped. Caller frees; NULL + EINVAL when word holds a control character.
 */
char *rules_quote(const char *word);

/* Free every rule and source; rs is left empty and reusable. */
void rules_release(struct ruleset *rs);

#endif
