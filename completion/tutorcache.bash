# bash completion for tutorcache(1). Installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/tutorcache; works with or
# without the bash-completion package (it uses COMP_WORDS and compgen
# only). Commands and subcommands are listed here (tests/install_docs.sh
# checks them against 'tutorcache help'); a command's options are read
# from its own help, so they never drift from the binary.

_tutorcache_commands="get set del ping stats config bench loadtest classify warm train eval model feedback help"
_tutorcache_globals="--store --feedback-store --config --log-level --log-format --verbose --log-texts --timeout --password-file --audit-log --actor --help --version"
_tutorcache_namespaces="ml_model_predictions student_profiles adaptive_paths diagnostic_results intents intent_feedback"

# The options of 'tutorcache CMD [SUB]', from its --help.
_tutorcache_options()
{
	"$1" "${@:2}" --help 2>/dev/null |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

_tutorcache()
{
	local cur prev bin cmd sub i w
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	bin=${COMP_WORDS[0]}
	COMPREPLY=()

	# Values of the options that take a file, a level or a format.
	case $prev in
	--config | --model | -m | -o | --output | --texts | --data | --password-file | --audit-log)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--log-level)
		COMPREPLY=($(compgen -W "debug info warn error off" -- "$cur"))
		return 0
		;;
	--log-format)
		COMPREPLY=($(compgen -W "json text" -- "$cur"))
		return 0
		;;
	--format)
		COMPREPLY=($(compgen -W "json table jsonl csv" -- "$cur"))
		return 0
		;;
	--store | --feedback-store | --timeout | --url | --rps | --duration | --threads | --ttl)
		return 0
		;;
	esac

	# The command: the first word after the global options (and their
	# values), then its subcommand.
	cmd=
	sub=
	i=1
	while [ "$i" -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		if [ -z "$cmd" ]; then
			case $w in
			--store | --feedback-store | --config | --log-level | --log-format | --timeout | --password-file | --audit-log | --actor)
				i=$((i + 1))
				;;
			-*) ;;
			*) cmd=$w ;;
			esac
		elif [ -z "$sub" ]; then
			case $w in
			-*) ;;
			*) sub=$w ;;
			esac
		fi
		i=$((i + 1))
	done

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$_tutorcache_globals" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_tutorcache_commands" -- "$cur"))
		fi
		return 0
	fi
	if [[ $cur == -* ]]; then
		case $cmd in
		feedback | model | bench)
			[ -n "$sub" ] || return 0
			COMPREPLY=($(compgen -W "$(_tutorcache_options "$bin" "$cmd" "$sub")" -- "$cur"))
			;;
		*)
			COMPREPLY=($(compgen -W "$(_tutorcache_options "$bin" "$cmd")" -- "$cur"))
			;;
		esac
		return 0
	fi
	case $cmd in
	feedback)
		[ -n "$sub" ] && { COMPREPLY=($(compgen -f -- "$cur")); return 0; }
		COMPREPLY=($(compgen -W "submit import stats export learn purge report" -- "$cur"))
		;;
	model)
		[ -n "$sub" ] && { COMPREPLY=($(compgen -f -- "$cur")); return 0; }
		COMPREPLY=($(compgen -W "info" -- "$cur"))
		;;
	bench)
		[ -n "$sub" ] || COMPREPLY=($(compgen -W "cache classify" -- "$cur"))
		;;
	help)
		[ -n "$sub" ] || COMPREPLY=($(compgen -W "$_tutorcache_commands" -- "$cur"))
		;;
	get | set | del)
		[ -n "$sub" ] || COMPREPLY=($(compgen -W "$_tutorcache_namespaces" -- "$cur"))
		;;
	*)
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
	return 0
}

complete -F _tutorcache tutorcache
