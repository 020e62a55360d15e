/* SPDX-License-Identifier: MIT */
/* Rules: parse the grammar of rules.h into a ruleset and match notifications against it. */
#include "rules/rules.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "rules/glob.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <strings.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Exactly design.md's defaults ("Rules"); line numbers here are what `<defaults>:N` names. */
static const char defaults_text[] =
	"allow exec    *            # programs run inside the sandbox; the review lists them\n"
	"ask   connect *            # every destination outside the sandbox is a decision\n"
	"ask   write   /**          # changes outside the starting directory wait for a decision\n"
	"allow write   ./**         # changes under the starting directory start approved\n"
	"hide  ~/.ssh ~/.gnupg ~/.aws ~/.azure ~/.config/gcloud ~/.kube ~/.docker ~/.netrc"
	" ~/.password-store ~/.config/gh\n"
	/* What runs code on the host later without the person running it (airlock-rules(5)). */
	"sensitive /**/.git /**/.git/**/hooks/** /**/.git/**/config /**/.git/**/config.worktree"
	" # git runs hooks, filters and fsmonitor from it\n"
	"sensitive /**/.git/info/** /**/.gitmodules /**/.gitattributes"
	" # git runs filters and fetches submodules from it\n"
	"sensitive ~/.gitconfig ~/.config/git/** # git runs hooks, filters and pagers from it\n"
	"sensitive ~/.bashrc ~/.bash_profile ~/.bash_login ~/.bash_logout ~/.profile ~/.zshrc"
	" ~/.zshenv ~/.zprofile ~/.zlogin ~/.zlogout ~/.config/fish/** ~/.inputrc"
	" ~/.pam_environment ~/.xprofile ~/.xinitrc ~/.xsession ~/.config/environment.d/**"
	" # a shell or session start-up file\n"
	"sensitive ~/.config/autostart/** ~/.config/systemd/user/** # started at login\n"
	"sensitive ~/.local/bin/** ~/bin/** # a directory on the PATH\n"
	"sensitive ~/.local/lib/python*/site-packages/*.pth"
	" ~/.local/lib/python*/site-packages/usercustomize.py # python runs it at every start\n"
	"sensitive ~/.vimrc ~/.vim/** ~/.config/nvim/** ~/.emacs ~/.emacs.d/** ~/.config/Code/**"
	" # an editor runs it\n"
	"sensitive /**/.envrc # direnv runs it on cd\n"
	"sensitive /**/.vscode/** /**/.idea/** /**/.devcontainer/**"
	" # the editor runs tasks and containers from it\n"
	"sensitive /**/.claude/** /**/.codex/** /**/.cursor/** /**/.gemini/** /**/.aider*"
	" /**/.aider*/** /**/.mcp.json # an agent runs hooks and servers from it\n"
	"sensitive /**/.github/workflows/** /**/.gitlab-ci.yml # CI runs it\n"
	"sensitive /**/.pre-commit-config.yaml /**/.husky/** # git commit runs it\n";

/* Every word of a line fits: a word takes at least one byte and one separator. */
#define MAX_WORDS (RULES_MAX_LINE / 2 + 2)

/* What a connect rule compares. */
enum conn_kind {
	CONN_ANY,	    /* `*`: everything, Unix sockets included */
	CONN_INET_ANY,	    /* `*:PORT`: any host */
	CONN_ADDR,	    /* address or CIDR */
	CONN_NAME,	    /* host name glob */
	CONN_UNIX_ANY,	    /* unix:* */
	CONN_UNIX_PATH,	    /* unix:PATH-GLOB */
	CONN_UNIX_ABSTRACT, /* unix:@NAME-GLOB */
};

/*
 * A rule and its compiled pattern. pub comes first, so the struct rule * handed to callers
 * converts back; the compiled part stays private to this file.
 */
struct rule_impl {
	struct rule pub;
	char *text;	   /* pub.text */
	char *path;	   /* pub.path */
	char *kind;	   /* pub.kind */
	char *reason;	   /* pub.reason */
	char *glob;	   /* exec PROGRAM, write path, host name, or unix path / abstract name */
	bool prog_is_path; /* exec: glob is a path glob, not a basename glob */
	char **args;	   /* exec: ARG-GLOBs */
	size_t nargs;
	bool args_end; /* exec: a trailing `$`: no further arguments */
	enum conn_kind conn;
	int family;		/* CONN_ADDR: AF_INET or AF_INET6 */
	unsigned char addr[16]; /* CONN_ADDR: network address, host bits cleared */
	unsigned int prefix;	/* CONN_ADDR: prefix length in bits */
	int port_lo, port_hi;	/* inet kinds: inclusive range; -1 for any port */

	char *needle;	     /* sensitive: a literal component every match holds, or NULL */
	uint64_t needle_bit; /* component_bit(needle); 0 without one */
};

static struct rule_impl *impl(const struct rule *r)
{
	return (struct rule_impl *)r;
}

struct word {
	char *s;
	bool quoted; /* some part was in double quotes */
};

/* One parse: the rules of one source, kept apart until the whole source is good. */
struct parser {
	const char *name;
	const struct rules_env *env;
	struct rules_error *err;
	unsigned int line;
	const char *comment; /* the current line's comment (after '#'), or NULL */
	struct rule_impl **rules;
	size_t n, cap;
};

static const char *const action_names[] = {
	[RULE_ALLOW] = "allow",	    [RULE_DENY] = "deny",     [RULE_ASK] = "ask",
	[RULE_DEFER] = "defer",	    [RULE_HIDE] = "hide",     [RULE_READONLY] = "readonly",
	[RULE_SCRATCH] = "scratch", [RULE_REDACT] = "redact", [RULE_SENSITIVE] = "sensitive",
};

static const char *const class_names[] = {
	[RULE_EXEC] = "exec", [RULE_CONNECT] = "connect", [RULE_WRITE] = "write",
	[RULE_PATH] = "path", [RULE_OUTPUT] = "output",	  [RULE_RISK] = "risk",
};

const char *rule_action_name(enum rule_action action)
{
	if ((unsigned int)action >= ARRAY_SIZE(action_names))
		return "?";
	return action_names[action];
}

const char *rule_class_name(enum rule_class cls)
{
	if ((unsigned int)cls >= ARRAY_SIZE(class_names))
		return "?";
	return class_names[cls];
}

void rule_origin_to(const struct rule *r, char *out, size_t size)
{
	char digits[10]; /* an unsigned int */
	size_t n = strnlen(r->source, size - sizeof(digits) - 2), k = 0;
	unsigned line = r->line;

	memcpy(out, r->source, n);
	out[n++] = ':';
	do
		digits[k++] = (char)('0' + line % 10);
	while ((line /= 10) != 0);
	while (k)
		out[n++] = digits[--k];
	out[n] = '\0';
}

char *rule_origin(const struct rule *r)
{
	size_t size = strlen(r->source) + 12;
	char *out = xmalloc(size);

	rule_origin_to(r, out, size);
	return out;
}

const char *rules_defaults_text(void)
{
	return defaults_text;
}

static void rule_free(struct rule_impl *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->path);
	free(r->kind);
	free(r->reason);
	free(r->needle);
	free(r->glob);
	for (size_t i = 0; i < r->nargs; i++)
		free(r->args[i]);
	free(r->args);
	free(r);
}

void rules_release(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(impl(rs->rules[i]));
	for (size_t i = 0; i < rs->nsources; i++)
		free(rs->sources[i]);
	free(rs->rules);
	free(rs->sources);
	memset(rs, 0, sizeof(*rs));
}

/* Record "name:line: message" (or "name: message" before any line) and return -EINVAL. */
static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->err)
		return -EINVAL;
	if (ps->line)
		n = snprintf(ps->err->msg, sizeof(ps->err->msg), "%s:%u: ", ps->name, ps->line);
	else
		n = snprintf(ps->err->msg, sizeof(ps->err->msg), "%s: ", ps->name);
	if (n < 0 || (size_t)n >= sizeof(ps->err->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg + n, sizeof(ps->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	ps->err->line = ps->line;
	return -EINVAL;
}

/* A new rule of this parse; text (owned from now on) is the pattern as written. */
static struct rule_impl *new_rule(struct parser *ps, enum rule_action action, enum rule_class cls,
				  char *text)
{
	struct rule_impl *r = xcalloc(1, sizeof(*r));

	r->pub.action = action;
	r->pub.cls = cls;
	r->pub.line = ps->line;
	r->text = text;
	r->pub.text = r->text;
	r->port_lo = r->port_hi = -1;
	GROW(ps->rules, ps->cap, ps->n + 1);
	ps->rules[ps->n++] = r;
	return r;
}

/* ---- words ---- */

/*
 * Split line (NUL-terminated, writable) into words in place: quotes are removed and escapes
 * applied as the text moves left, so a word never needs more room than it had. Stops at a
 * comment. 0 or -EINVAL.
 */
static int split_words(struct parser *ps, char *line, struct word *words, size_t *nwords)
{
	char *r = line, *w = line;
	size_t n = 0;

	for (;;) {
		char end;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '#')
			ps->comment = r + 1;
		if (*r == '\0' || *r == '#')
			break;
		if (n == MAX_WORDS)
			return fail(ps, "too many words");
		words[n].s = w;
		words[n].quoted = false;
		while (*r && *r != ' ' && *r != '\t') {
			if (*r != '"') {
				*w++ = *r++;
				continue;
			}
			words[n].quoted = true;
			for (r++; *r != '"'; *w++ = *r++) {
				if (*r == '\0')
					return fail(ps, "unterminated quote");
				if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
					r++;
			}
			r++;
		}
		/* Step past the separator before the terminator may overwrite it (w <= r). */
		end = *r;
		if (end)
			r++;
		*w++ = '\0';
		n++;
	}
	*nwords = n;
	return 0;
}

/*
 * The line's bytes are acceptable: NUL and control characters are refused (a rules file is
 * text; an escape sequence in it could hide a rule from a person reading it in a terminal).
 * Bytes >= 0x80 are not checked: paths need not be UTF-8.
 */
static int check_bytes(struct parser *ps, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\0')
			return fail(ps, "NUL byte in line");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(ps, "control character 0x%02x in line", c);
	}
	return 0;
}

/* ---- paths ---- */

static bool starts_with_word(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '/');
}

/* True when an exec PROGRAM is a path rather than a basename. */
static bool is_path_word(const char *s)
{
	return strchr(s, '/') || s[0] == '~' || starts_with_word(s, "$HOME") ||
	       starts_with_word(s, ".");
}

static bool has_dotdot(const char *s)
{
	for (const char *c = s; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return true;
		c += n;
		while (*c == '/')
			c++;
	}
	return false;
}

/*
 * Expand `~`, `$HOME` and `.` at the start of word and normalise: the absolute path glob,
 * into *out (caller frees). The directories are inserted escaped, so their bytes stay literal.
 */
static int expand_path(struct parser *ps, const char *word, char **out)
{
	const char *base = NULL, *rest = word, *what = NULL;
	cleanup_free char *esc = NULL, *joined = NULL;

	if (starts_with_word(word, "~") || starts_with_word(word, "$HOME")) {
		base = ps->env ? ps->env->home : NULL;
		rest = word + (word[0] == '~' ? 1 : 5);
		what = "the home directory";
	} else if (starts_with_word(word, ".")) {
		base = ps->env ? ps->env->cwd : NULL;
		rest = word + 1;
		what = "the starting directory";
	} else if (word[0] != '/') {
		return fail(ps, "relative path '%s' (start it with /, ./, ~/ or $HOME/)", word);
	}
	if (what && (!base || base[0] != '/'))
		return fail(ps, "'%s' needs %s, which is not known", word, what);
	if (has_dotdot(word))
		return fail(ps, "'..' is not allowed in '%s'", word);
	if (base) {
		cleanup_free char *nbase = path_normalize(base);

		esc = glob_escape(nbase);
		joined = xasprintf("%s/%s", esc, rest);
	}
	*out = path_normalize(joined ? joined : rest);
	if (!glob_dstar_ok(*out)) {
		free(*out);
		*out = NULL;
		return fail(ps, "'**' must be a whole path component in '%s'", word);
	}
	return 0;
}

/* ---- the classes ---- */

/* A word as it can be written back (rule.text): quoted where needed; a bare `$` stays bare. */
static char *word_text(const struct word *w)
{
	char *q;

	if (!w->quoted && strcmp(w->s, "$") == 0)
		return xstrdup("$");
	q = rules_quote(w->s);
	return q ? q : xstrdup(w->s);
}

static int parse_exec(struct parser *ps, enum rule_action action, struct word *w, size_t n)
{
	struct buf text = BUF_INIT;
	struct rule_impl *r;
	int rc = 0;

	if (w[0].s[0] == '\0')
		return fail(ps, "empty pattern");
	buf_init(&text);
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *q = word_text(&w[i]);

		buf_addf(&text, "%s%s", i ? " " : "", q);
	}
	r = new_rule(ps, action, RULE_EXEC, buf_detach(&text));
	r->prog_is_path = is_path_word(w[0].s);
	if (r->prog_is_path)
		rc = expand_path(ps, w[0].s, &r->glob);
	else
		r->glob = xstrdup(w[0].s);
	if (rc < 0)
		return rc;
	r->args = xcalloc(n, sizeof(*r->args));
	for (size_t i = 1; i < n; i++) {
		bool dollar = !w[i].quoted && strcmp(w[i].s, "$") == 0;

		if (dollar && i + 1 < n)
			return fail(ps, "'$' must be the last word of an exec rule");
		if (dollar)
			r->args_end = true;
		else
			r->args[r->nargs++] = xstrdup(w[i].s);
	}
	return 0;
}

static int parse_write(struct parser *ps, enum rule_action action, const struct word *w)
{
	struct rule_impl *r;

	if (w->s[0] == '\0')
		return fail(ps, "empty pattern");
	r = new_rule(ps, action, RULE_WRITE, word_text(w));
	return expand_path(ps, w->s, &r->glob);
}

static int parse_path_directive(struct parser *ps, enum rule_action action, const struct word *w)
{
	cleanup_free char *glob = NULL;
	struct rule_impl *r;
	int rc;

	if (w->s[0] == '\0')
		return fail(ps, "empty pattern");
	rc = expand_path(ps, w->s, &glob);
	if (rc < 0)
		return rc;
	if (glob_has_wildcard(glob))
		return fail(ps, "%s takes a path, not a pattern: '%s'", rule_action_name(action),
			    w->s);
	r = new_rule(ps, action, RULE_PATH, word_text(w));
	r->path = glob_unescape(glob);
	r->pub.path = r->path;
	return 0;
}

/*
 * The longest component of glob without a wildcard or an escape: every path the glob matches
 * has it as a component (a component other than `**` matches exactly one path component),
 * so a path without it is refused at once. NULL when there is none.
 */
static char *literal_component(const char *glob)
{
	const char *best = NULL, *c = glob;
	size_t best_len = 0;

	while (*c) {
		size_t n;

		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if (n > best_len && !memchr(c, '*', n) && !memchr(c, '\\', n)) {
			best = c;
			best_len = n;
		}
		c += n;
	}
	return best ? xstrndup(best, best_len) : NULL;
}

/* One bit of 64 for a component (FNV-1a): a path's components make a mask that refuses most
   rules with one AND, before any string is compared. */
static uint64_t component_bit(const char *c, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)c[i]) * 16777619u;
	return (uint64_t)1 << (h % 64);
}

static uint64_t component_mask(const char *path)
{
	uint64_t mask = 0;
	uint32_t h = 2166136261u;
	bool in = false;

	/* component_bit() of each component, in one pass. */
	for (const char *c = path;; c++) {
		if (*c == '/' || *c == '\0') {
			if (in)
				mask |= (uint64_t)1 << (h % 64);
			h = 2166136261u;
			in = false;
			if (*c == '\0')
				break;
			continue;
		}
		h = (h ^ (unsigned char)*c) * 16777619u;
		in = true;
	}
	return mask;
}

/* Whether the normalised path has needle as one of its components. */
static bool has_component(const char *path, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = path; (p = strstr(p, needle)) != NULL; p++)
		if (p > path && p[-1] == '/' && (p[n] == '/' || p[n] == '\0'))
			return true;
	return false;
}

/* sensitive PATH-GLOB: the comment of the line, trimmed, is the reason shown. */
static int parse_sensitive(struct parser *ps, const struct word *w)
{
	struct rule_impl *r;
	const char *c = ps->comment;
	size_t n;

	if (w->s[0] == '\0')
		return fail(ps, "empty pattern");
	r = new_rule(ps, RULE_SENSITIVE, RULE_RISK, word_text(w));
	if (c) {
		while (*c == ' ' || *c == '\t')
			c++;
		n = strlen(c);
		while (n > 0 && (c[n - 1] == ' ' || c[n - 1] == '\t'))
			n--;
		if (n > 0) {
			r->reason = xstrndup(c, n);
			r->pub.reason = r->reason;
		}
	}
	if (expand_path(ps, w->s, &r->glob) < 0)
		return -EINVAL;
	r->needle = literal_component(r->glob);
	r->needle_bit = r->needle ? component_bit(r->needle, strlen(r->needle)) : 0;
	return 0;
}

/* redact KIND ERE: the kind is a short name, the expression must compile and match text. */
static int parse_redact(struct parser *ps, const struct word *w, size_t n)
{
	struct rule_impl *r;
	regex_t re;
	size_t i, len;
	int rc;

	if (n != 3)
		return fail(ps, "redact takes a kind and one expression (quote it when it has "
				"spaces): redact KIND ERE");
	len = strlen(w[1].s);
	if (len < 1 || len > 32 || !isalnum((unsigned char)w[1].s[0]))
		return fail(ps, "bad redaction kind '%s' (1-32 of a-z 0-9 _ . -)", w[1].s);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)w[1].s[i];

		if (!(islower(c) || isdigit(c) || c == '_' || c == '.' || c == '-'))
			return fail(ps, "bad redaction kind '%s' (1-32 of a-z 0-9 _ . -)", w[1].s);
	}
	if (w[2].s[0] == '\0')
		return fail(ps, "empty expression");
	rc = regcomp(&re, w[2].s, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &re, msg, sizeof(msg));
		return fail(ps, "bad regular expression '%s': %s", w[2].s, msg);
	}
	/* An expression that matches nothing at all would blank every byte of the output. */
	rc = regexec(&re, "", 0, NULL, 0);
	regfree(&re);
	if (rc == 0)
		return fail(ps, "the expression '%s' matches the empty string", w[2].s);
	r = new_rule(ps, RULE_REDACT, RULE_OUTPUT, word_text(&w[2]));
	r->kind = xstrdup(w[1].s);
	r->pub.kind = r->kind;
	r->glob = xstrdup(w[2].s);
	r->pub.expr = r->glob;
	return 0;
}

/* PORT: a number, LO-HI, or `*` (any). */
static int parse_port(struct parser *ps, const char *s, struct rule_impl *r)
{
	unsigned long lo, hi;
	char *end;

	if (strcmp(s, "*") == 0)
		return 0;
	if (s[0] < '0' || s[0] > '9')
		return fail(ps, "bad port '%s'", s);
	errno = 0;
	lo = hi = strtoul(s, &end, 10);
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return fail(ps, "bad port '%s'", s);
		hi = strtoul(end + 1, &end, 10);
	}
	if (errno || *end || lo < 1 || hi > 65535 || lo > hi)
		return fail(ps, "bad port '%s'", s);
	r->port_lo = (int)lo;
	r->port_hi = (int)hi;
	return 0;
}

/* Store addr/prefix, folding IPv4-mapped IPv6 into IPv4 so that both spellings match alike. */
static void set_addr(struct rule_impl *r, int family, const unsigned char *a, unsigned int prefix)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET6 && prefix >= 96 && memcmp(a, mapped, 12) == 0) {
		family = AF_INET;
		a += 12;
		prefix -= 96;
	}
	r->conn = CONN_ADDR;
	r->family = family;
	r->prefix = prefix;
	memcpy(r->addr, a, family == AF_INET ? 4 : 16);
	/* Clear host bits: 192.168.1.7/24 means the network, as most tools read it. */
	for (unsigned int bit = prefix; bit < (family == AF_INET ? 32u : 128u); bit++)
		r->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
}

/* An address or CIDR; *is_addr is false when host is not one (then nothing is reported). */
static int parse_addr(struct parser *ps, const char *host, struct rule_impl *r, bool *is_addr)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(host, '/');
	size_t alen = slash ? (size_t)(slash - host) : strlen(host);
	unsigned char a[16];
	unsigned long prefix;
	int family;
	char *end;

	*is_addr = false;
	if (alen >= sizeof(buf))
		return 0;
	memcpy(buf, host, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		family = AF_INET6;
	else
		return 0;
	*is_addr = true;
	prefix = family == AF_INET ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return fail(ps, "bad CIDR '%s'", host);
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > (family == AF_INET ? 32u : 128u))
			return fail(ps, "bad CIDR '%s'", host);
	}
	set_addr(r, family, a, (unsigned int)prefix);
	return 0;
}

/* A host name glob: letters, digits, '-', '_', '.', '*'; no empty label. Stored lowercase. */
static int parse_name(struct parser *ps, const char *host, struct rule_impl *r)
{
	size_t n = strlen(host);
	char *name;

	if (n > 1 && host[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || host[0] == '.' || strstr(host, ".."))
		return fail(ps, "bad host name '%s'", host);
	name = xstrndup(host, n);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			name[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_' || c == '.' || c == '*')) {
			free(name);
			return fail(ps, "bad host name '%s'", host);
		}
	}
	r->conn = CONN_NAME;
	r->glob = name;
	return 0;
}

/* HOST part of a connect target (no port): `*`, address, CIDR or name. */
static int parse_host(struct parser *ps, const char *host, bool bracketed, struct rule_impl *r)
{
	bool is_addr;
	int rc;

	if (!bracketed && strcmp(host, "*") == 0) {
		r->conn = CONN_INET_ANY;
		return 0;
	}
	/* Brackets hold IPv6 only, as in URLs. */
	if (bracketed && !strchr(host, ':'))
		return fail(ps, "bad address '[%s]'", host);
	rc = parse_addr(ps, host, r, &is_addr);
	if (rc < 0 || is_addr)
		return rc;
	/* Not an address, yet written like one (digits and dots, a ':'): say so, not "bad name". */
	if (bracketed || strspn(host, "0123456789./") == strlen(host) || strchr(host, ':'))
		return fail(ps, strchr(host, '/') ? "bad CIDR '%s'" : "bad address '%s'", host);
	if (strchr(host, '/'))
		return fail(ps, "bad host name '%s'", host);
	return parse_name(ps, host, r);
}

static int parse_unix(struct parser *ps, const char *spec, struct rule_impl *r)
{
	if (strcmp(spec, "*") == 0) {
		r->conn = CONN_UNIX_ANY;
		return 0;
	}
	if (spec[0] == '@') {
		if (spec[1] == '\0')
			return fail(ps, "missing socket name after 'unix:@'");
		r->conn = CONN_UNIX_ABSTRACT;
		r->glob = xstrdup(spec + 1);
		return 0;
	}
	if (spec[0] == '\0')
		return fail(ps, "missing socket path after 'unix:'");
	r->conn = CONN_UNIX_PATH;
	return expand_path(ps, spec, &r->glob);
}

/*
 * One connect TARGET. Bare IPv6 (two or more ':') takes no port; with a port it goes in
 * brackets, as in URLs.
 */
static int parse_connect(struct parser *ps, enum rule_action action, const struct word *w)
{
	cleanup_free char *host = NULL;
	const char *s = w->s, *port = NULL;
	struct rule_impl *r;
	int rc;

	if (s[0] == '\0')
		return fail(ps, "empty pattern");
	r = new_rule(ps, action, RULE_CONNECT, word_text(w));
	if (strcmp(s, "*") == 0) {
		r->conn = CONN_ANY;
		return 0;
	}
	if (strncmp(s, "unix:", 5) == 0)
		return parse_unix(ps, s + 5, r);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return fail(ps, "bad address '%s'", s);
		host = xstrndup(s + 1, (size_t)(close - s - 1));
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(s, ':');

		if (colon && !strchr(colon + 1, ':')) {
			host = xstrndup(s, (size_t)(colon - s));
			port = colon + 1;
		} else {
			host = xstrdup(s);
		}
	}
	rc = parse_host(ps, host, s[0] == '[', r);
	if (rc == 0 && port)
		rc = parse_port(ps, port, r);
	return rc;
}

/* ---- lines ---- */

static int lookup(const char *const *names, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], word) == 0)
			return (int)i;
	return -1;
}

static int parse_rule(struct parser *ps, struct word *w, size_t n)
{
	int action = lookup(action_names, ARRAY_SIZE(action_names), w[0].s);
	int cls;
	int rc = 0;

	if (action < 0)
		return fail(ps, "unknown action '%s'", w[0].s);
	if (action == RULE_REDACT)
		return parse_redact(ps, w, n);
	if (action == RULE_SENSITIVE) {
		if (n < 2)
			return fail(ps, "missing path after '%s'", w[0].s);
		for (size_t i = 1; i < n && rc == 0; i++)
			rc = parse_sensitive(ps, &w[i]);
		return rc;
	}
	if (action >= RULE_HIDE) {
		if (n < 2)
			return fail(ps, "missing path after '%s'", w[0].s);
		for (size_t i = 1; i < n && rc == 0; i++)
			rc = parse_path_directive(ps, (enum rule_action)action, &w[i]);
		return rc;
	}
	if (n < 2)
		return fail(ps, "missing class after '%s'", w[0].s);
	/* RULE_PATH is not a class one writes: its directives stand alone. */
	cls = lookup(class_names, RULE_PATH, w[1].s);
	if (cls < 0)
		return fail(ps, "unknown class '%s'", w[1].s);
	if (action == RULE_DEFER && cls != RULE_EXEC)
		return fail(ps, "defer is only valid for exec rules");
	if (n < 3)
		return fail(ps, "missing pattern after '%s %s'", w[0].s, w[1].s);
	if (cls == RULE_EXEC)
		return parse_exec(ps, (enum rule_action)action, w + 2, n - 2);
	for (size_t i = 2; i < n && rc == 0; i++) {
		if (cls == RULE_WRITE)
			rc = parse_write(ps, (enum rule_action)action, &w[i]);
		else
			rc = parse_connect(ps, (enum rule_action)action, &w[i]);
	}
	return rc;
}

/* One line of n bytes (no newline); line and words are scratch space of the right sizes. */
static int parse_line(struct parser *ps, const char *p, size_t n, char *line, struct word *words)
{
	size_t nwords = 0;
	int rc;

	/* A file edited on Windows: the CR before LF is not content. */
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > RULES_MAX_LINE)
		return fail(ps, "line too long (more than %d bytes)", RULES_MAX_LINE);
	rc = check_bytes(ps, p, n);
	if (rc < 0)
		return rc;
	memcpy(line, p, n);
	line[n] = '\0';
	ps->comment = NULL;
	rc = split_words(ps, line, words, &nwords);
	if (rc < 0 || nwords == 0)
		return rc;
	return parse_rule(ps, words, nwords);
}

/* Append the parsed rules to rs under one new source name. */
static void commit_rules(struct ruleset *rs, struct parser *ps)
{
	char *source = xstrdup(ps->name);

	GROW(rs->sources, rs->sources_cap, rs->nsources + 1);
	rs->sources[rs->nsources++] = source;
	GROW(rs->rules, rs->cap, rs->n + ps->n);
	for (size_t i = 0; i < ps->n; i++) {
		ps->rules[i]->pub.source = source;
		rs->rules[rs->n++] = &ps->rules[i]->pub;
	}
}

/* Who hears of each bad line when parsing goes on past one (rules_check_file()). */
struct each_bad {
	void (*fn)(const char *msg, void *ctx);
	void *ctx;
};

static int parse_buffer(struct ruleset *rs, const char *name, const char *data, size_t len,
			const struct rules_env *env, struct rules_error *err,
			const struct each_bad *each)
{
	struct parser ps = {.name = name, .env = env, .err = err};
	cleanup_free char *line = NULL;
	cleanup_free struct word *words = NULL;
	const char *p = data, *end = data + len;
	int rc = 0;

	if (err) {
		err->msg[0] = '\0';
		err->line = 0;
	}
	if (len > RULES_MAX_FILE)
		return fail(&ps, "file too large (more than %d bytes)", RULES_MAX_FILE);
	line = xmalloc(len < RULES_MAX_LINE ? len + 1 : RULES_MAX_LINE + 1);
	words = xcalloc(MAX_WORDS, sizeof(*words));
	while (p < end && (rc == 0 || each)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		int lrc;

		ps.line++;
		lrc = parse_line(&ps, p, n, line, words);
		if (lrc < 0) {
			rc = lrc;
			if (each && err)
				each->fn(err->msg, each->ctx);
		}
		p = nl ? nl + 1 : end;
	}
	if (rc == 0)
		commit_rules(rs, &ps);
	else
		for (size_t i = 0; i < ps.n; i++)
			rule_free(ps.rules[i]);
	free(ps.rules);
	return rc;
}

int rules_parse_buffer(struct ruleset *rs, const char *name, const char *data, size_t len,
		       const struct rules_env *env, struct rules_error *err)
{
	return parse_buffer(rs, name, data, len, env, err, NULL);
}

int rules_load_defaults(struct ruleset *rs, const struct rules_env *env, struct rules_error *err)
{
	return rules_parse_buffer(rs, RULES_DEFAULTS_NAME, defaults_text, strlen(defaults_text),
				  env, err);
}

static int load_file(struct ruleset *rs, const char *path, const struct rules_env *env,
		     struct rules_error *err, const struct each_bad *each)
{
	struct parser ps = {.name = path, .err = err};
	cleanup_free char *data = NULL;
	cleanup_fd int fd = -1;
	struct stat st;
	size_t len;

	/* O_NONBLOCK: a FIFO put in the file's place must not hang airlock before the check. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		fail(&ps, "%s", strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode))
		return fail(&ps, "not a regular file");
	data = read_fd(fd, RULES_MAX_FILE, &len);
	if (!data) {
		int e = errno;

		if (e == EFBIG)
			return fail(&ps, "file too large (more than %d bytes)", RULES_MAX_FILE);
		fail(&ps, "%s", strerror(e));
		return -e;
	}
	return parse_buffer(rs, path, data, len, env, err, each);
}

int rules_load_file(struct ruleset *rs, const char *path, const struct rules_env *env,
		    struct rules_error *err)
{
	return load_file(rs, path, env, err, NULL);
}

int rules_check_file(struct ruleset *rs, const char *path, const struct rules_env *env,
		     struct rules_error *err, void (*each)(const char *msg, void *ctx), void *ctx)
{
	struct each_bad e = {each, ctx};

	return load_file(rs, path, env, err, each ? &e : NULL);
}

/* ---- matching ---- */

size_t rules_redactions(const struct ruleset *rs, const struct rule ***out)
{
	const struct rule **v = xcalloc(rs->n + 1, sizeof(*v));
	size_t i, k = 0;

	for (i = 0; i < rs->n; i++)
		if (rs->rules[i]->action == RULE_REDACT)
			v[k++] = rs->rules[i];
	*out = v;
	return k;
}

bool rules_exec_allows_all(const struct ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->rules[i]->cls == RULE_EXEC && rs->rules[i]->action != RULE_ALLOW)
			return false;
	return true;
}

/*
 * Every matcher walks the rules from the last one back and stops at the first match: the
 * same answer as doas's "walk all, keep the last", with less work per notification.
 */

static bool match_exec(const struct rule_impl *r, const char *path, const char *base,
		       char *const *argv, size_t argc)
{
	size_t have = argc > 0 ? argc - 1 : 0;

	if (r->prog_is_path ? !glob_match_path(r->glob, path)
			    : !glob_match_seg(r->glob, strlen(r->glob), base, strlen(base), false))
		return false;
	if (have < r->nargs || (r->args_end && have != r->nargs))
		return false;
	for (size_t i = 0; i < r->nargs; i++)
		if (!glob_match_seg(r->args[i], strlen(r->args[i]), argv[i + 1],
				    strlen(argv[i + 1]), false))
			return false;
	return true;
}

const struct rule *rules_match_exec(const struct ruleset *rs, const char *path, char *const *argv)
{
	cleanup_free char *norm = path_normalize(path);
	const char *base = strrchr(norm, '/');
	size_t argc = 0;

	base = base ? base + 1 : norm;
	while (argv && argv[argc])
		argc++;
	for (size_t i = rs->n; i-- > 0;) {
		const struct rule_impl *r = impl(rs->rules[i]);

		if (r->pub.cls == RULE_EXEC && match_exec(r, norm, base, argv, argc))
			return &r->pub;
	}
	return NULL;
}

const struct rule *rules_match_write(const struct ruleset *rs, const char *path)
{
	cleanup_free char *norm = path_normalize(path);

	for (size_t i = rs->n; i-- > 0;) {
		const struct rule_impl *r = impl(rs->rules[i]);

		if (r->pub.cls == RULE_WRITE && glob_match_path(r->glob, norm))
			return &r->pub;
	}
	return NULL;
}

const struct rule *rules_match_sensitive(const struct ruleset *rs, const char *path)
{
	cleanup_free char *norm = path_normalize(path);
	uint64_t mask = component_mask(norm);

	for (size_t i = rs->n; i-- > 0;) {
		const struct rule_impl *r = impl(rs->rules[i]);

		if (r->pub.cls != RULE_RISK)
			continue;
		/* Most paths hold none of the class's names: refuse them without matching. */
		if (r->needle && (!(mask & r->needle_bit) || !has_component(norm, r->needle)))
			continue;
		if (glob_match_path(r->glob, norm))
			return &r->pub;
	}
	return NULL;
}

/* A rule that may match a path in a directory, and how (glob.h). */
struct cached_rule {
	const struct rule_impl *r;
	struct glob_child gc;
};

/* The write and sensitive rules that may match a path in one directory, in matching order. */
struct rules_cache_dir {
	char *dir; /* normalised; NULL until worked out */
	size_t len;
	struct cached_rule *write, *risk;
	size_t nwrite, nrisk;
};

void rules_cache_free(struct rules_cache *c)
{
	for (size_t i = 0; i < c->ndirs; i++) {
		free(c->dirs[i].dir);
		free(c->dirs[i].write);
		free(c->dirs[i].risk);
	}
	free(c->dirs);
	memset(c, 0, sizeof(*c));
}

/*
 * Whether path is as path_normalize() makes an absolute path (then it is its own), with the
 * start of its last component and the number of slashes before that.
 */
static bool normal_abs(const char *path, const char **base, size_t *depth)
{
	size_t n = 0;

	if (path[0] != '/')
		return false;
	for (const char *c = path; *c; c++) {
		if (*c != '/')
			continue;
		if (c[1] == '/' || (c[1] == '\0' && c != path))
			return false;
		if (c[1] == '.' &&
		    (c[2] == '/' || c[2] == '\0' || (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return false;
		*base = c + 1;
		n++;
	}
	*depth = n - 1;
	return true;
}

/* Work out e for directory dir (len bytes of a normalised path; "/" for the root). */
static void cache_dir_fill(const struct ruleset *rs, struct rules_cache_dir *e, const char *dir,
			   size_t len)
{
	free(e->dir);
	e->dir = xstrndup(dir, len);
	e->len = len;
	e->write = xrealloc(e->write, (rs->n + 1) * sizeof(*e->write));
	e->risk = xrealloc(e->risk, (rs->n + 1) * sizeof(*e->risk));
	e->nwrite = e->nrisk = 0;
	for (size_t i = rs->n; i-- > 0;) {
		const struct rule_impl *r = impl(rs->rules[i]);
		struct glob_child gc;

		if (r->pub.cls != RULE_WRITE && r->pub.cls != RULE_RISK)
			continue;
		glob_match_child(r->glob, e->dir, &gc);
		if (gc.how == GLOB_CHILD_NONE)
			continue;
		if (r->pub.cls == RULE_WRITE)
			e->write[e->nwrite++] = (struct cached_rule){r, gc};
		else
			e->risk[e->nrisk++] = (struct cached_rule){r, gc};
	}
}

/*
 * The cache's entry for the directory of the normalised absolute path whose last component
 * starts at base, depth slashes before it; kept one per depth (sorted paths come back to a
 * parent after a subdirectory's). NULL when it has none to give (the root itself, a path too
 * deep): match without it.
 */
static const struct rules_cache_dir *cache_dir(const struct ruleset *rs, struct rules_cache *c,
					       const char *norm, const char *base, size_t depth)
{
	size_t len = (size_t)(base - 1 - norm);
	struct rules_cache_dir *e;

	if (base[0] == '\0' || depth >= RULES_CACHE_DEPTHS)
		return NULL;
	if (!c->dirs) {
		c->dirs = xcalloc(RULES_CACHE_DEPTHS, sizeof(*c->dirs));
		c->ndirs = RULES_CACHE_DEPTHS;
	}
	e = &c->dirs[depth];
	if (len == 0)
		len = 1; /* the root, "/" */
	if (!e->dir || e->len != len || memcmp(e->dir, norm, len) != 0)
		cache_dir_fill(rs, e, norm, len);
	return e;
}

/* The first of n cached rules matching the path norm, whose name is name; NULL if none. */
static const struct rule *cached_match(const struct cached_rule *v, size_t n, const char *norm,
				       const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (glob_child_match(&v[i].gc, v[i].r->glob, norm, name, len))
			return &v[i].r->pub;
	return NULL;
}

void rules_match_cached(const struct ruleset *rs, struct rules_cache *c, const char *path,
			const struct rule **write, const struct rule **sensitive)
{
	const char *base = NULL;
	size_t depth = 0;
	cleanup_free char *copy = normal_abs(path, &base, &depth) ? NULL : path_normalize(path);
	const struct rules_cache_dir *e = copy ? NULL : cache_dir(rs, c, path, base, depth);
	size_t len;

	if (!e) {
		*write = rules_match_write(rs, copy ? copy : path);
		*sensitive = rules_match_sensitive(rs, copy ? copy : path);
		return;
	}
	len = strlen(base);
	*write = cached_match(e->write, e->nwrite, path, base, len);
	*sensitive = cached_match(e->risk, e->nrisk, path, base, len);
}

bool rules_write_is_exact(const struct rule *r)
{
	return r && r->cls == RULE_WRITE && !glob_has_wildcard(impl(r)->glob);
}

/* A target in the form the matchers compare: mapped IPv4 folded, Unix path normalised. */
struct canon_target {
	int family;
	unsigned char addr[16];
	int port;
	const char *name;
	size_t name_len; /* without a trailing dot */
	bool abstract;
	const char *unix_name;
	size_t unix_len;
	char *unix_path; /* pathname sockets: normalised, NUL-terminated; owned */
};

static void canon_target(const struct rules_target *t, struct canon_target *c)
{
	memset(c, 0, sizeof(*c));
	c->family = t->family;
	c->port = t->port;
	if (t->family == AF_INET) {
		memcpy(c->addr, &t->addr.v4, 4);
	} else if (t->family == AF_INET6) {
		memcpy(c->addr, &t->addr.v6, 16);
		if (IN6_IS_ADDR_V4MAPPED(&t->addr.v6)) {
			c->family = AF_INET;
			memmove(c->addr, c->addr + 12, 4);
		}
	}
	if (t->name) {
		c->name = t->name;
		c->name_len = strlen(t->name);
		if (c->name_len > 1 && t->name[c->name_len - 1] == '.')
			c->name_len--;
	}
	if (t->family == AF_UNIX && t->unix_name) {
		c->abstract = t->abstract;
		c->unix_name = t->unix_name;
		c->unix_len = t->unix_len;
		if (!t->abstract) {
			cleanup_free char *raw = xstrndup(t->unix_name, t->unix_len);

			c->unix_path = path_normalize(raw);
		}
	}
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	unsigned char mask = (unsigned char)(0xff00u >> rest);

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || (a[whole] & mask) == (b[whole] & mask);
}

static bool is_inet(const struct canon_target *c)
{
	return c->family == AF_INET || c->family == AF_INET6 || c->family == AF_UNSPEC;
}

static bool port_ok(const struct rule_impl *r, const struct canon_target *c)
{
	return r->port_lo < 0 || (c->port >= r->port_lo && c->port <= r->port_hi);
}

static bool match_connect(const struct rule_impl *r, const struct canon_target *c)
{
	switch (r->conn) {
	case CONN_ANY:
		return true;
	case CONN_INET_ANY:
		return is_inet(c) && port_ok(r, c);
	case CONN_ADDR:
		return c->family == r->family && prefix_match(r->addr, c->addr, r->prefix) &&
		       port_ok(r, c);
	case CONN_NAME:
		return is_inet(c) && c->name &&
		       glob_match_seg(r->glob, strlen(r->glob), c->name, c->name_len, true) &&
		       port_ok(r, c);
	case CONN_UNIX_ANY:
		return c->family == AF_UNIX;
	case CONN_UNIX_PATH:
		return c->family == AF_UNIX && c->unix_path &&
		       glob_match_path(r->glob, c->unix_path);
	case CONN_UNIX_ABSTRACT:
		return c->family == AF_UNIX && c->abstract &&
		       glob_match_seg(r->glob, strlen(r->glob), c->unix_name, c->unix_len, false);
	}
	return false;
}

const struct rule *rules_match_connect(const struct ruleset *rs, const struct rules_target *t)
{
	const struct rule *found = NULL;
	struct canon_target c;

	canon_target(t, &c);
	for (size_t i = rs->n; i-- > 0 && !found;) {
		const struct rule_impl *r = impl(rs->rules[i]);

		if (r->pub.cls == RULE_CONNECT && match_connect(r, &c))
			found = &r->pub;
	}
	free(c.unix_path);
	return found;
}

/* Whether a rule names a host-local destination explicitly: an address or CIDR within
   127.0.0.0/8, one whole address (/32, /128: ::1 or one of the host's own), or the name
   `localhost`. Another name never does: a name's address comes from DNS, which whoever owns
   the name controls (an answer of 127.0.0.1 must not open the host's loopback). */
static bool names_loopback(const struct rule_impl *r)
{
	if (r->conn == CONN_ADDR && r->family == AF_INET)
		return r->prefix == 32 || (r->prefix >= 8 && r->addr[0] == 127);
	if (r->conn == CONN_ADDR && r->family == AF_INET6)
		return r->prefix == 128;
	return r->conn == CONN_NAME &&
	       (strcasecmp(r->glob, "localhost") == 0 || strcasecmp(r->glob, "localhost.") == 0);
}

bool rule_by_name(const struct rule *r)
{
	return r && r->cls == RULE_CONNECT && impl(r)->conn == CONN_NAME;
}

const struct rule *rules_match_loopback(const struct ruleset *rs, const struct rules_target *t)
{
	const struct rule *found = NULL;
	struct canon_target c;

	canon_target(t, &c);
	for (size_t i = rs->n; i-- > 0 && !found;) {
		const struct rule_impl *r = impl(rs->rules[i]);

		if (r->pub.cls == RULE_CONNECT && names_loopback(r) && match_connect(r, &c))
			found = &r->pub;
	}
	return found;
}

/* name_verdict(): an address rule that allows, or asks, comes first. */
#define VERDICT_ADDR_ALLOW (-1)
#define VERDICT_ADDR_ASK   (-2)

/*
 * The verdict for a name at one port when its address is not known yet: the action of the
 * last rule that surely matches, or VERDICT_ADDR_* when an address rule that allows or asks
 * comes first (it may match whatever address the name has).
 */
static int name_verdict(const struct ruleset *rs, const struct canon_target *c,
			const struct rule **by)
{
	for (size_t i = rs->n; i-- > 0;) {
		const struct rule_impl *r = impl(rs->rules[i]);

		if (r->pub.cls != RULE_CONNECT)
			continue;
		if (r->conn == CONN_ADDR) {
			if (port_ok(r, c) && r->pub.action != RULE_DENY) {
				*by = &r->pub;
				return r->pub.action == RULE_ALLOW ? VERDICT_ADDR_ALLOW
								   : VERDICT_ADDR_ASK;
			}
			continue; /* a deny for some addresses: not sure to hold */
		}
		if (match_connect(r, c)) {
			*by = &r->pub;
			return (int)r->pub.action;
		}
	}
	*by = NULL;
	return RULE_DENY; /* no rule: nothing is allowed */
}

enum rules_name_reach rules_name_reach(const struct ruleset *rs, const char *name,
				       const struct rule **by)
{
	struct rules_target t = {.family = AF_UNSPEC, .name = name, .port = 0};
	struct canon_target c;
	const struct rule *first = NULL, *r, *ask = NULL;
	enum rules_name_reach reach = NAME_DENIED;
	int v;

	*by = NULL;
	canon_target(&t, &c);
	/* The verdict changes only where a rule's port range starts or ends: port 0 and those
	   edges cover every port. */
	v = name_verdict(rs, &c, &first);
	if (v == RULE_ALLOW || v == VERDICT_ADDR_ALLOW)
		return NAME_ALLOWED;
	if (v != RULE_DENY) {
		reach = NAME_ASKED;
		ask = first;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule_impl *ri = impl(rs->rules[i]);
		int edges[2] = {ri->port_lo, ri->port_hi + 1};

		if (ri->pub.cls != RULE_CONNECT || ri->port_lo < 0)
			continue;
		for (int k = 0; k < 2; k++) {
			if (edges[k] < 0 || edges[k] > 65535)
				continue;
			c.port = edges[k];
			v = name_verdict(rs, &c, &r);
			if (v == RULE_ALLOW || v == VERDICT_ADDR_ALLOW)
				return NAME_ALLOWED;
			if (v != RULE_DENY && reach == NAME_DENIED) {
				reach = NAME_ASKED;
				ask = r;
			}
		}
	}
	*by = reach == NAME_DENIED ? first : ask;
	return reach;
}

bool rules_name_denied(const struct ruleset *rs, const char *name, const struct rule **by)
{
	bool denied = rules_name_reach(rs, name, by) == NAME_DENIED;

	if (!denied)
		*by = NULL;
	return denied;
}

int rules_target_from_sockaddr(struct rules_target *t, const struct sockaddr *sa, socklen_t len,
			       const char *name)
{
	memset(t, 0, sizeof(*t));
	t->port = -1;
	t->name = name;
	if (len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	switch (sa->sa_family) {
	case AF_INET: {
		struct sockaddr_in sin;

		if (len < (socklen_t)sizeof(sin))
			return -EINVAL;
		memcpy(&sin, sa, sizeof(sin));
		t->family = AF_INET;
		t->addr.v4 = sin.sin_addr;
		t->port = ntohs(sin.sin_port);
		return 0;
	}
	case AF_INET6: {
		struct sockaddr_in6 sin6;

		if (len < (socklen_t)sizeof(sin6))
			return -EINVAL;
		memcpy(&sin6, sa, sizeof(sin6));
		t->port = ntohs(sin6.sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			t->family = AF_INET;
			memcpy(&t->addr.v4, &sin6.sin6_addr.s6_addr[12], 4);
		} else {
			t->family = AF_INET6;
			t->addr.v6 = sin6.sin6_addr;
		}
		return 0;
	}
	case AF_UNIX: {
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t n = (size_t)len - off;
		const char *p = (const char *)sa + off;

		/* Only sa_family: an unnamed socket, which connect() cannot reach. */
		if ((size_t)len <= off)
			return -EINVAL;
		if (n > sizeof(((struct sockaddr_un *)NULL)->sun_path))
			n = sizeof(((struct sockaddr_un *)NULL)->sun_path);
		t->family = AF_UNIX;
		if (p[0] == '\0') {
			t->abstract = true;
			t->unix_name = p + 1;
			t->unix_len = n - 1;
		} else {
			t->unix_name = p;
			t->unix_len = strnlen(p, n);
		}
		return 0;
	}
	}
	return -EAFNOSUPPORT;
}

/* ---- path directives ---- */

/* True when a later path directive names the same path: only the last one counts. */
static bool overridden(const struct ruleset *rs, size_t i)
{
	for (size_t j = i + 1; j < rs->n; j++)
		if (rs->rules[j]->cls == RULE_PATH &&
		    strcmp(rs->rules[j]->path, rs->rules[i]->path) == 0)
			return true;
	return false;
}

size_t rules_paths(const struct ruleset *rs, enum rule_action kind, const struct rule ***out)
{
	const struct rule **v = xcalloc(rs->n + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = rs->rules[i];

		if (r->cls == RULE_PATH && r->action == kind && !overridden(rs, i))
			v[n++] = r;
	}
	*out = v;
	return n;
}

char *rules_quote(const char *word)
{
	struct buf b = BUF_INIT;
	bool bare = word[0] != '\0' && word[0] != '#' && strcmp(word, "$") != 0;

	for (const unsigned char *p = (const unsigned char *)word; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			errno = EINVAL;
			return NULL;
		}
		if (*p == ' ' || *p == '\t' || *p == '"')
			bare = false;
	}
	if (bare)
		return xstrdup(word);
	buf_init(&b);
	buf_addc(&b, '"');
	for (const char *p = word; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *p);
	}
	buf_addc(&b, '"');
	return buf_detach(&b);
}

/* body, when "allow BODY" parses as a rules line (it will be appended to a rules file), else
   NULL (body freed). */
static char *reads_back(char *body)
{
	struct ruleset rs = RULESET_INIT;
	cleanup_free char *line = body ? xasprintf("allow %s", body) : NULL;
	int rc = line ? rules_parse_buffer(&rs, "suggestion", line, strlen(line), NULL, NULL) : -1;

	rules_release(&rs);
	if (rc < 0) {
		free(body);
		return NULL;
	}
	return body;
}

/* word glob-escaped, then quoted as a word of a rules line. NULL when it cannot be. */
static char *literal_word(const char *word)
{
	cleanup_free char *esc = glob_escape(word);

	return rules_quote(esc);
}

char *rules_suggest_exec(const char *path, char *const *argv)
{
	struct buf b = BUF_INIT;
	cleanup_free char *prog = NULL;
	size_t i;

	/* Only an absolute path reads back as the same path (no ~, $HOME or . expansion). */
	if (!path || path[0] != '/')
		return NULL;
	prog = literal_word(path);
	if (!prog)
		return NULL;
	buf_init(&b);
	buf_addf(&b, "exec %s", prog);
	for (i = 1; argv && argv[0] && argv[i]; i++) {
		cleanup_free char *w = literal_word(argv[i]);

		if (!w) {
			buf_release(&b);
			return NULL;
		}
		buf_addf(&b, " %s", w);
	}
	buf_adds(&b, " $");
	return reads_back(buf_detach(&b));
}

char *rules_suggest_program(const char *path)
{
	cleanup_free char *prog = NULL;

	if (!path || path[0] != '/')
		return NULL;
	prog = literal_word(path);
	return prog ? reads_back(xasprintf("exec %s", prog)) : NULL;
}

char *rules_suggest_connect(const char *target)
{
	cleanup_free char *body = NULL, *q = NULL, *word = NULL;

	if (strncmp(target, "unix:", 5) == 0) {
		const char *name = target + 5;

		if (name[0] != '@' && name[0] != '/')
			return NULL;
		body = glob_escape(name[0] == '@' ? name + 1 : name);
		q = xasprintf("unix:%s%s", name[0] == '@' ? "@" : "", body);
	} else {
		/* Host names hold no escape: a glob character there has no exact rule. */
		if (strpbrk(target, "*\\"))
			return NULL;
		q = xstrdup(target);
	}
	word = rules_quote(q);
	return word ? reads_back(xasprintf("connect %s", word)) : NULL;
}
