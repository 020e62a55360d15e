/* SPDX-License-Identifier: MIT */
/*
 * The keys of the review and the replay timeline: one table gives each request its keys, the
 * name shown for them, where it applies and its help text. The key map, the help screen and
 * the KEYS list of airlock(1) all come from it (tests/unit/test_ui_keys.c fails when the man
 * page drifts; `build/tests/test_ui_keys --man` prints the list to paste). No curses here: key
 * codes above the Unicode range stand for the special keys, and ui/term.c maps curses' codes
 * onto them.
 */
#ifndef AIRLOCK_UI_KEYS_H
#define AIRLOCK_UI_KEYS_H

enum {
	UI_KEY_BASE = 0x110000, /* past the last Unicode code point */
	UI_KEY_DOWN,
	UI_KEY_UP,
	UI_KEY_NPAGE,
	UI_KEY_PPAGE,
	UI_KEY_HOME,
	UI_KEY_END,
	UI_KEY_ENTER,
	UI_KEY_RESIZE,
	UI_KEY_BACKSPACE,
	UI_KEY_ESC,
	UI_KEY_TAB,
	UI_KEY_LEFT,
	UI_KEY_RIGHT,
	UI_KEY_EOF, /* the test script ran out, or the terminal went away */
};

#define UI_CTRL(c) ((c)&0x1f)

/* Where a request applies: the review, the replay or both, and only in a text view (a diff,
   the help) or only in a list when one of those is added. */
enum {
	UI_REVIEW = 1,
	UI_REPLAY = 2,
	UI_BOTH = 3,
	UI_TEXT = 4,
	UI_LIST = 8,
};

/*
 * K(request, where, "keys as shown", "hint" (for the bottom row, or NULL), "help text",
 * key codes...). The names are written as
 * the man page shows them, so they must be plain mdoc-safe text.
 */
#define UI_KEY_TABLE(K)                                                                                              \
	K(DOWN, UI_BOTH, "j, Down", NULL, "move to the next line", 'j', UI_KEY_DOWN)                                 \
	K(UP, UI_BOTH, "k, Up", NULL, "move to the previous line", 'k', UI_KEY_UP)                                   \
	K(PAGE_DOWN, UI_BOTH, "PgDn, Ctrl-F", NULL, "move one screen down", UI_KEY_NPAGE,                            \
	  UI_CTRL('f'))                                                                                              \
	K(PAGE_UP, UI_BOTH, "PgUp, Ctrl-B", NULL, "move one screen up", UI_KEY_PPAGE,                                \
	  UI_CTRL('b'))                                                                                              \
	K(FIRST, UI_BOTH, "g, Home", NULL, "move to the first line", 'g', UI_KEY_HOME)                               \
	K(LAST, UI_BOTH, "G, End", NULL, "move to the last line", 'G', UI_KEY_END)                                   \
	K(ENTER, UI_BOTH, "Enter", "open",                                                                           \
	  "open the selected item: a file's diff, the files a command changed; on a directory, fold or "             \
	  "unfold it; in the replay, a write event's diff or the files an exec event's process changed",             \
	  UI_KEY_ENTER)                                                                                              \
	K(FOLD, UI_REVIEW | UI_LIST, "h, Left", NULL,                                                                \
	  "in the list: fold the selected directory, or the directory of the selected line, and select it",          \
	  'h', UI_KEY_LEFT)                                                                                          \
	K(UNFOLD, UI_REVIEW | UI_LIST, "l, Right", NULL,                                                             \
	  "in the list: unfold the selected directory and go to its first line", 'l',                                \
	  UI_KEY_RIGHT)                                                                                              \
	K(NEXT_UNDECIDED, UI_REVIEW, "]", NULL,                                                                      \
	  "go to the next undecided change, unfolding the directories that hide it", ']')                            \
	K(PREV_UNDECIDED, UI_REVIEW, "[", NULL, "go to the previous undecided change", '[')                          \
	K(FILTER, UI_REVIEW, "f", "filter",                                                                          \
	  "show only the undecided changes, then only the conflicts, then only the flagged changes, "                \
	  "then all again; the title says which",                                                                    \
	  'f')                                                                                                       \
	K(NEXT_VIEW, UI_REVIEW, "Tab", "views",                                                                      \
	  "switch between the changes, commands and connections", UI_KEY_TAB)                                        \
	K(SCREEN_DOWN, UI_BOTH | UI_TEXT, "Space", NULL,                                                             \
	  "in a diff or the help: one screen down, as in less", ' ')                                                 \
	K(SCREEN_UP, UI_BOTH | UI_TEXT, "b", NULL,                                                                   \
	  "in a diff or the help: one screen up, as in less", 'b')                                                   \
	K(SCROLL_LEFT, UI_BOTH | UI_TEXT, "Left, <", NULL,                                                           \
	  "in a diff or the help: scroll left half a screen, as in less; < marks a line that goes on to the left",   \
	  UI_KEY_LEFT, '<')                                                                                          \
	K(SCROLL_RIGHT, UI_BOTH | UI_TEXT, "Right, >", NULL,                                                         \
	  "in a diff or the help: scroll right half a screen; > marks a line that goes on past the right edge",      \
	  UI_KEY_RIGHT, '>')                                                                                         \
	K(NEXT_HUNK, UI_BOTH | UI_TEXT, "}", NULL, "in a diff: go to the next hunk", '}')                            \
	K(PREV_HUNK, UI_BOTH | UI_TEXT, "{", NULL, "in a diff: go to the previous hunk", '{')                        \
	K(NEXT_FILE, UI_REVIEW | UI_TEXT, "J", NULL,                                                                 \
	  "in a diff: show the diff of the next change of the list", 'J')                                            \
	K(PREV_FILE, UI_REVIEW | UI_TEXT, "K", NULL,                                                                 \
	  "in a diff: show the diff of the previous change of the list", 'K')                                        \
	K(APPROVE, UI_REVIEW, "a", "approve",                                                                        \
	  "approve the selected change or command; on a directory, every change below it that the "                  \
	  "list shows; in the diff of a modified text file, the hunk under the cursor (marked >), and "              \
	  "go to the next: the file is then approved in part, marked [~], and the commit writes the "                \
	  "host's file with only its approved hunks",                                                                \
	  'a')                                                                                                       \
	K(DENY, UI_REVIEW, "d", "deny",                                                                              \
	  "deny the selected change or command, or directory; in the diff of a modified text file, the "             \
	  "hunk under the cursor, and go to the next",                                                               \
	  'd')                                                                                                       \
	K(TOGGLE, UI_REVIEW | UI_LIST, "Space", NULL,                                                                \
	  "in a list: toggle the selected item between approved and denied; on a directory, approve "                \
	  "what is below it unless all of it is approved, then deny it",                                             \
	  ' ')                                                                                                       \
	K(APPROVE_ALL, UI_REVIEW, "A", NULL,                                                                         \
	  "approve every item of the list shown (with a filter, every change it shows); in a diff, the "             \
	  "whole file; a key that acts on more than a screenful of items asks first, with their number",             \
	  'A')                                                                                                       \
	K(DENY_ALL, UI_REVIEW, "D", NULL,                                                                            \
	  "deny every item of the list shown; in a diff, the whole file", 'D')                                       \
	K(APPROVE_STEP, UI_REVIEW, "s", NULL,                                                                        \
	  "approve the whole step of the selected change or command (an airlock exec of a live "                     \
	  "session): its commands and every change it made",                                                         \
	  's')                                                                                                       \
	K(DENY_STEP, UI_REVIEW, "S", NULL,                                                                           \
	  "deny the whole step of the selected change or command", 'S')                                              \
	K(FILTER_CLASS, UI_REPLAY, "f", "class",                                                                     \
	  "show only one class of events: exec, write, connect, dns, step (a live session's execs), then all again", \
	  'f')                                                                                                       \
	K(FILTER_PROCESS, UI_REPLAY, "p", "process",                                                                 \
	  "show only the events of the selected event's process; again to show all", 'p')                            \
	K(SEARCH, UI_BOTH, "/", NULL, "search the lines shown for a text", '/')                                      \
	K(SEARCH_NEXT, UI_BOTH, "n", NULL, "go to the next match of the search", 'n')                                \
	K(SEARCH_PREV, UI_BOTH, "N", NULL, "go to the previous match of the search", 'N')                            \
	K(COMMIT, UI_REVIEW, "c", "commit",                                                                          \
	  "commit: show a summary and ask y or n; approved changes are applied to the host and "                     \
	  "approved deferred commands run after them",                                                               \
	  'c')                                                                                                       \
	K(OUTPUT, UI_REVIEW, "o", NULL,                                                                              \
	  "show the terminal as the program left it (its last output), until a key", 'o')                            \
	K(REDRAW, UI_BOTH, "Ctrl-L", NULL, "redraw the screen", UI_CTRL('l'))                                        \
	K(HELP, UI_BOTH, "?", "help", "show the keys", '?')                                                          \
	K(QUIT, UI_BOTH, "q", "quit",                                                                                \
	  "close the view shown; in the list, quit (the review quits without committing, and asks "                  \
	  "first when decisions were changed)",                                                                      \
	  'q')                                                                                                       \
	K(CLOSE, UI_BOTH, "Esc", NULL, "close the view shown; never quits", UI_KEY_ESC)

enum ui_req {
	UI_REQ_NONE,
#define UI_REQ_ENUM(name, where, shown, hint, help, ...) UI_REQ_##name,
	UI_KEY_TABLE(UI_REQ_ENUM)
#undef UI_REQ_ENUM
	UI_REQ_COUNT,
};

struct ui_key {
	enum ui_req req;
	int where; /* UI_REVIEW, UI_REPLAY or both */
	const char *shown;
	const char *hint; /* a word for the key hints of the bottom row, or NULL */
	const char *help;
	int codes[4]; /* 0-terminated */
};

/* The table, in its order; UI_REQ_COUNT - 1 entries. */
extern const struct ui_key ui_keys[];

/* The request of key code in a context (UI_REVIEW or UI_REPLAY); UI_REQ_NONE when unbound. */
enum ui_req ui_key_request(int code, int where);

/* The KEYS list of airlock(1) as mdoc, from the table. Caller frees. */
char *ui_keys_mdoc(void);

/*
 * The keys of the live prompt (ui/prompt.c), which is no curses screen: P(request, "key as
 * shown", code, "label on the question", "help text"). The question's menu and the list in
 * airlock(1)'s "The prompt" come from it (tests/unit/test_ui_keys.c holds the man page to it).
 */
#define UI_PROMPT_KEY_TABLE(P)                                                                     \
	P(ALLOW_ONCE, "y", 'y', "allow once", "allow once")                                        \
	P(ALLOW_SESSION, "a", 'a', "allow for this session",                                       \
	  "allow for this session: the same question is not asked again")                          \
	P(ALLOW_PROGRAM, "A", 'A', "allow with any arguments",                                     \
	  "allow this program with any arguments for this session (a question about a command "    \
	  "only)")                                                                                 \
	P(DENY_ONCE, "n", 'n', "deny once", "deny once")                                           \
	P(DENY_SESSION, "d", 'd', "deny for this session", "deny for this session")                \
	P(DENY_PROGRAM, "D", 'D', "deny with any arguments",                                       \
	  "deny this program with any arguments for this session (a question about a command "     \
	  "only)")                                                                                 \
	P(SAVE_RULE, "r", 'r', "save the answer as a rule",                                        \
	  "save the answer as a rule: shows the rule, which p widens to the program with any "     \
	  "arguments and back, and e edits (Enter keeps the edit, Esc drops it); then y appends "  \
	  "allow RULE or n deny RULE to the user's rules file, and the answer holds for the "      \
	  "session as widely as the rule (an edited one: for the same question; the rule itself "  \
	  "from the next run on). A rule the rules parser refuses is not saved: the prompt says "  \
	  "why and opens it for editing again")                                                    \
	P(INTERRUPT, "Ctrl-C", UI_CTRL('c'), "deny",                                               \
	  "deny once; a second Ctrl-C within two seconds also interrupts the program, as "         \
	  "Ctrl-C does without a question")

enum ui_prompt_req {
	UI_PROMPT_NONE,
#define UI_PROMPT_ENUM(name, ...) UI_PROMPT_##name,
	UI_PROMPT_KEY_TABLE(UI_PROMPT_ENUM)
#undef UI_PROMPT_ENUM
	UI_PROMPT_COUNT,
};

struct ui_prompt_key {
	enum ui_prompt_req req;
	const char *shown;
	int code;
	const char *label; /* on the question, after "[key] " */
	const char *help;  /* in airlock(1) */
};

/* The prompt's table, in its order; UI_PROMPT_COUNT - 1 entries, indexed by request - 1. */
extern const struct ui_prompt_key ui_prompt_keys[];

/* The prompt's request of a key; UI_PROMPT_NONE when unbound. */
enum ui_prompt_req ui_prompt_request(int code);

/* The prompt's key list of airlock(1) as mdoc, from the table. Caller frees. */
char *ui_prompt_keys_mdoc(void);

#endif
