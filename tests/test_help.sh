#!/usr/bin/env bash
# test_help.sh: the help texts tell the truth. Every command in `ganforge --help` runs and every
# command the CLI dispatches is listed; every option a command's --help names is accepted, and
# every option the CLI source parses is named in its command's help; every metric the help texts
# name is known to `ganforge eval` and every known metric is named; every preset named in the help
# texts and the README table exists, `ganforge presets` lists them all, and the default preset the
# help names is the one `ganforge train` runs.
# usage: bash tests/test_help.sh /path/to/ganforge   (env: GF_SRC, GF_TMP)
set -u
G=${1:?usage: test_help.sh /path/to/ganforge}
case "$G" in /*) ;; *) G="$PWD/$G" ;; esac
SRC=${GF_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
T=${GF_TMP:-/tmp/ganforge-test}/help
rm -rf "$T" && mkdir -p "$T" || exit 2
export GANFORGE_CACHE="$T/cache"
unset GANFORGE_DATA XDG_CACHE_HOME GANFORGE_MIRROR
cd "$T" || exit 2

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
same_set() { # same_set WHAT FILE_A FILE_B: the two files hold the same lines (any order)
  local d
  d=$(diff <(sort -u "$2") <(sort -u "$3"))
  if [ -z "$d" ]; then ok; else bad "$1 differ (< $(basename "$2"), > $(basename "$3")): $(echo "$d" | tr '\n' ' ')"; fi
}

"$G" --help >"$T/main.txt" 2>&1 || bad "ganforge --help failed"

echo "== commands"
# the command list: two-space-indented lines under "commands:"
awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' "$T/main.txt" | sort -u >"$T/cmd_help"
[ "$(grep -c . "$T/cmd_help")" -ge 9 ] && ok || bad "ganforge --help lists only $(tr '\n' ' ' <"$T/cmd_help")"
# the commands main() dispatches
grep -o 'strcmp(cmd, "[a-z][a-z-]*")' "$SRC/src/cli/main.c" | sed 's/.*"\(.*\)")/\1/' | grep -vx help | sort -u >"$T/cmd_src"
[ -s "$T/cmd_src" ] && ok || bad "found no dispatched command in $SRC/src/cli/main.c"
same_set "commands in ganforge --help and commands main() dispatches" "$T/cmd_help" "$T/cmd_src"
while read -r c; do
  out=$(timeout 20 "$G" "$c" --help 2>&1)
  rc=$?
  if [ "$rc" != 0 ]; then bad "ganforge $c --help exits $rc"; continue; fi
  case "$c" in
    version | presets) echo "$out" | grep -q . && ok || bad "ganforge $c printed nothing" ;;
    *) echo "$out" | grep -q "usage: ganforge $c" && ok || bad "ganforge $c --help has no 'usage: ganforge $c' line" ;;
  esac
  echo "$out" >"$T/help_$c.txt"
done <"$T/cmd_help"
timeout 20 "$G" nosuchcommand >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "unknown command 'nosuchcommand'" "$T/err" && ok || bad "an unknown command is not refused"

echo "== options"
# options_of FILE: every --long option and -x short option a help text names
options_of() { grep -oE '(^|[][ |,(])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b' "$1" | sed 's/^[][ |,(]//' | sort -u; }
# probe CMD OPT: the parser takes OPT (it may fail later, but never as an unknown option)
probe() {
  local c=$1 o=$2 args
  case "$c $o" in
    "bench --sgemm") args=(--sgemm --device nosuchdevice) ;;
    "data "*) args=(fetch nosuchset "$o" 1 --no-such-option) ;;
    *) args=("$o" 1 --no-such-option) ;;
  esac
  timeout 30 "$G" "$c" "${args[@]}" >/dev/null 2>"$T/err" </dev/null
  if grep -q "unknown option '$o'" "$T/err"; then bad "ganforge $c --help names $o, but ganforge $c refuses it"; else ok; fi
}
for c in train sample interpolate translate bench eval data export; do
  [ -s "$T/help_$c.txt" ] || { bad "no help text for $c"; continue; }
  options_of "$T/help_$c.txt" | grep -vx -- "-h" >"$T/opt_help_$c"
  while read -r o; do probe "$c" "$o"; done <"$T/opt_help_$c"
done
# the control: an option no help names is refused
timeout 20 "$G" sample x --no-such-option >/dev/null 2>"$T/err"
grep -q "unknown option '--no-such-option'" "$T/err" && ok || bad "an unknown option is not refused"
# the options each command's parser compares against, from the source: main.c's cmd_* functions
# (cmd_sample_like serves sample and interpolate) and eval_cmd.c
src_opts() { grep -oE '"(--[a-z][a-z0-9-]*|-[a-zA-Z])"' | tr -d '"' | grep -vxE -- '--help|-h' | sort -u; }
for pair in cmd_train:train cmd_sample_like:sample,interpolate cmd_translate:translate cmd_bench:bench cmd_data:data; do
  fn=${pair%%:*} cmds=${pair#*:}
  awk -v fn="$fn" '$0 ~ "^static int " fn "\\(" { on = 1 } on && /^}/ { on = 0 } on' "$SRC/src/cli/main.c" | src_opts >"$T/opt_src_$fn"
  [ -s "$T/opt_src_$fn" ] || { bad "no options found in $fn"; continue; }
  : >"$T/opt_doc_$fn"
  for c in ${cmds//,/ }; do cat "$T/opt_help_$c" >>"$T/opt_doc_$fn"; done
  missing=$(comm -23 "$T/opt_src_$fn" <(sort -u "$T/opt_doc_$fn") | tr '\n' ' ')
  [ -z "$missing" ] && ok || bad "$fn parses $missing but 'ganforge ${cmds//,/|} --help' does not name it"
done
src_opts <"$SRC/src/cli/eval_cmd.c" >"$T/opt_src_eval"
missing=$(comm -23 "$T/opt_src_eval" "$T/opt_help_eval" | tr '\n' ' ')
[ -z "$missing" ] && ok || bad "eval_cmd.c parses $missing but 'ganforge eval --help' does not name it"
awk '/^int gf_cli_export\(/ { on = 1 } on && /^}/ { on = 0 } on' "$SRC/src/cli/export_cmd.c" | src_opts >"$T/opt_src_export"
[ -s "$T/opt_src_export" ] && ok || bad "no options found in gf_cli_export (src/cli/export_cmd.c)"
missing=$(comm -23 "$T/opt_src_export" "$T/opt_help_export" | tr '\n' ' ')
[ -z "$missing" ] && ok || bad "gf_cli_export parses $missing but 'ganforge export --help' does not name it"

echo "== metrics"
"$G" eval --list-metrics >"$T/met_lib" 2>&1 || bad "ganforge eval --list-metrics failed"
[ "$(grep -c . "$T/met_lib")" -ge 10 ] && ok || bad "eval --list-metrics lists only $(tr '\n' ' ' <"$T/met_lib")"
# expand NAME-SET with the SET list the text gives ("SET = a | b" or "SET: a | b")
expand_sets() {
  local text sets
  text=$(cat)
  sets=$(echo "$text" | grep -oE 'SET( =|:) [a-z-]+( \| [a-z-]+)*' | head -1 | sed -E 's/SET( =|:) //; s/ \| / /g')
  echo "$text" | grep -oE '\b(parzen|modes|stacked-modes|[a-z]+-SET)\b' | while read -r m; do
    case "$m" in *-SET) for s in $sets; do echo "${m%SET}$s"; done ;; *) echo "$m" ;; esac
  done | sort -u
}
grep -oE -- '--metric [a-z-]+(-SET)?' "$T/help_eval.txt" | sed 's/--metric //' >"$T/met_eval_raw"
{ cat "$T/met_eval_raw"; grep -oE 'SET = [a-z-]+( \| [a-z-]+)*' "$T/help_eval.txt" | head -1; } | expand_sets >"$T/met_eval"
same_set "metrics in 'ganforge eval --help' and 'ganforge eval --list-metrics'" "$T/met_eval" "$T/met_lib"
grep -A1 "^  eval " "$T/main.txt" | expand_sets >"$T/met_main"
same_set "metrics in the eval line of 'ganforge --help' and 'ganforge eval --list-metrics'" "$T/met_main" "$T/met_lib"
# the metrics train.eval_metric's help names exist
"$G" train --help-keys | grep "^train.eval_metric " | grep -oE '\b(parzen|modes|[a-z]+-(mnist|fashion-mnist|shapes)|stacked-modes)\b' |
  sort -u >"$T/met_key"
[ -s "$T/met_key" ] && ok || bad "train.eval_metric's help names no metric"
missing=$(comm -23 "$T/met_key" <(sort -u "$T/met_lib") | tr '\n' ' ')
[ -z "$missing" ] && ok || bad "train.eval_metric's help names unknown metrics: $missing"
# every listed metric is accepted by eval (the run fails later, on the missing input) ...
while read -r m; do
  timeout 20 "$G" eval "$T/nosuch.npy" --metric "$m" >/dev/null 2>"$T/err"
  rc=$?
  if [ "$rc" = 1 ] && ! grep -q "unknown metric" "$T/err"; then ok; else bad "eval --metric $m: exit $rc, $(head -c 300 "$T/err")"; fi
done <"$T/met_lib"
# ... and an unlisted one is refused
timeout 20 "$G" eval "$T/nosuch.npy" --metric fid-cifar10 >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "unknown metric" "$T/err" && ok || bad "eval --metric fid-cifar10 was not refused"

echo "== presets"
"$G" presets | awk '{ print $1 }' | sort -u >"$T/pre_lib"
[ "$(grep -c . "$T/pre_lib")" -ge 12 ] && ok || bad "ganforge presets lists only $(tr '\n' ' ' <"$T/pre_lib")"
# the README's preset table: rows "| `a`, `b` | ..." after "### Presets"
awk '/^### Presets/ { on = 1; next } on && /^#/ { on = 0 } on && /^\| `/' "$SRC/README.md" | cut -d'|' -f2 |
  grep -oE '`[a-z0-9-]+`' | tr -d '`' | sort -u >"$T/pre_readme"
same_set "presets in the README table and 'ganforge presets'" "$T/pre_readme" "$T/pre_lib"
while read -r p; do
  timeout 20 "$G" train "$p" --set no.such=1 >/dev/null 2>"$T/err"
  grep -q "unknown config key 'no.such'" "$T/err" && ok || bad "preset $p does not apply: $(head -c 300 "$T/err")"
done <"$T/pre_lib"
timeout 20 "$G" train nosuchpreset >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "unknown preset 'nosuchpreset'" "$T/err" && ok || bad "an unknown preset is not refused"
# the default: named the same in ganforge --help and train --help, and the one train runs
d_main=$(grep -oE 'default: [a-z0-9-]+' "$T/main.txt" | head -1 | sed 's/default: //')
d_train=$(grep -oE 'PRESET defaults to [a-z0-9-]+' "$T/help_train.txt" | sed 's/.* //')
[ -n "$d_main" ] && [ "$d_main" = "$d_train" ] && ok || bad "default preset: '$d_main' in ganforge --help, '$d_train' in train --help"
grep -qx -- "$d_main" "$T/pre_lib" && ok || bad "the default preset '$d_main' is not in ganforge presets"
timeout 60 "$G" train --epochs 0 --out "$T/dflt" >/dev/null 2>"$T/err"
grep -q "^ganforge: training $d_main on " "$T/err" && ok || bad "ganforge train does not run '$d_main': $(head -c 300 "$T/err")"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
