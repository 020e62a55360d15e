# SPDX-License-Identifier: MIT
# bash completion for airlock(1): subcommands, options, session IDs, paths and commands.
# The subcommands and their options are read from `airlock --help` and `airlock SUB --help`,
# and session IDs from `airlock list`, so the completion follows the installed airlock.

_airlock_ids()
{
	"$1" list 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]/ { print $1 }'
	echo last
}

_airlock_subcommands()
{
	"$1" --help 2>/dev/null | awk '/^Subcommands:/ { s = 1; next } s && /^  [a-z]/ { print $1 }'
}

_airlock_options()
{
	"$1" "$2" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*(=)?' | sort -u
	"$1" "$2" --help 2>&1 | grep -oE -- '(^|[ [|])-[a-zA-Z]( |,)' | grep -oE -- '-[a-zA-Z]' | sort -u
}

_airlock_files()
{
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$1"))
}

_airlock()
{
	local bin=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= sub i w
	local seen_dd=0 have_id=0 cmd_at=0
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $bin in */*) ;; *) bin=$(command -v "$bin" 2>/dev/null || echo airlock) ;; esac

	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$(_airlock_subcommands "$bin") --help --version" -- "$cur"))
		return
	fi
	sub=${COMP_WORDS[1]}

	# What came before the word being completed: "--", an ID, the command of run/start.
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ "$seen_dd" = 1 ]; then
			[ "$cmd_at" = 0 ] && cmd_at=$i
			continue
		fi
		case $w in
		--) seen_dd=1 ;;
		-r | --rules | --ask | --ask-timeout | --replay | --net | --dns-upstream | --timeout | \
			--cpu | --memory | --pids | --fsize | --output-limit | --env | --hide | \
			--readonly | --scratch | --review | --run | --name | --session | -C)
			i=$((i + 1)) ;;
		-*) ;;
		*)
			have_id=1
			case $sub in run | start | mcp) [ "$cmd_at" = 0 ] && cmd_at=$i ;; esac ;;
		esac
	done

	case $prev in
	-r | --rules | --hide | --readonly | --scratch | -C)
		if [ "$seen_dd" = 0 ] && [ "$cmd_at" = 0 ]; then
			_airlock_files "$cur"
			return
		fi ;;
	--ask)
		COMPREPLY=($(compgen -W "tty deny allow attend fd:" -- "$cur"))
		return ;;
	--review)
		COMPREPLY=($(compgen -W "auto always never" -- "$cur"))
		return ;;
	--net)
		COMPREPLY=($(compgen -W "mediated none host" -- "$cur"))
		return ;;
	--replay | --session)
		COMPREPLY=($(compgen -W "$(_airlock_ids "$bin")" -- "$cur"))
		return ;;
	--ask-timeout | --dns-upstream | --timeout | --cpu | --memory | --pids | --fsize | \
		--output-limit | --env | --run | --name)
		return ;;
	esac

	case $sub in
	run | start | mcp)
		if [ "$cmd_at" != 0 ]; then
			_airlock_files "$cur"
		elif [ "$seen_dd" = 1 ] || [[ $cur != -* ]]; then
			if [ "$sub" = run ] || [ "$seen_dd" = 1 ]; then
				COMPREPLY=($(compgen -c -- "$cur"))
			fi
		else
			COMPREPLY=($(compgen -W "$(_airlock_options "$bin" "$sub") --" -- "$cur"))
		fi ;;
	rules)
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W "check show" -- "$cur"))
		elif [ "${COMP_WORDS[2]}" = check ]; then
			_airlock_files "$cur"
		elif [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-r --help" -- "$cur"))
		fi ;;
	list | doctor)
		[[ $cur == -* ]] && COMPREPLY=($(compgen -W "$(_airlock_options "$bin" "$sub")" -- "$cur")) ;;
	diff | commit)
		if [[ $cur == -* ]] && [ "$seen_dd" = 0 ]; then
			COMPREPLY=($(compgen -W "$(_airlock_options "$bin" "$sub")" -- "$cur"))
		elif [ "$have_id" = 0 ] && [ "$seen_dd" = 0 ]; then
			COMPREPLY=($(compgen -W "$(_airlock_ids "$bin")" -- "$cur"))
			compopt -o filenames 2>/dev/null
			COMPREPLY+=($(compgen -f -- "$cur"))
		else
			_airlock_files "$cur"
		fi ;;
	exec)
		if [ "$have_id" = 0 ] && [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "$(_airlock_ids "$bin")" -- "$cur"))
		elif [ "$seen_dd" = 1 ]; then
			if [ "$cmd_at" = 0 ]; then COMPREPLY=($(compgen -c -- "$cur")); else _airlock_files "$cur"; fi
		else
			COMPREPLY=($(compgen -W "$(_airlock_options "$bin" "$sub") --" -- "$cur"))
		fi ;;
	*)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$(_airlock_options "$bin" "$sub")" -- "$cur"))
		elif [ "$have_id" = 0 ]; then
			COMPREPLY=($(compgen -W "$(_airlock_ids "$bin")" -- "$cur"))
		fi ;;
	esac
}
complete -F _airlock airlock
