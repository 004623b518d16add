# bench/peers.sh: sourced by the bench scripts that time ganforge beside PyTorch: finds the Pythons
# with PyTorch and takes medians.
#   torch_pythons: fills the array torch_pys from $PYTHONS (default: Debian's /usr/bin/python3 and,
#                  when present, /opt/t2/bin/python), noting on stderr each one without PyTorch
#   median FILE:   the median of the numbers in FILE, one a line

torch_pythons() {
  local p pys=${PYTHONS:-/usr/bin/python3 $( [ -x /opt/t2/bin/python ] && echo /opt/t2/bin/python )}
  torch_pys=()
  for p in $pys; do
    if "$p" -c 'import torch' 2>/dev/null; then torch_pys+=("$p"); else echo "note: no PyTorch for $p" >&2; fi
  done
}

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
