#!/usr/bin/env python3
"""summarize.py: the GPU check kit's summary: reads the parts check.sh recorded (WORK/facts.json,
WORK/part_*.json), writes one JSON summary and prints the table that ends the log.

    python3 tools/gpu/summarize.py WORK SUMMARY.json
"""
import json, os, sys

PARTS = ('build', 'ops', 'parity', 'speed', 'profile', 'memcheck')


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {'status': 'error', 'why': f'{os.path.basename(path)}: {e}', 'seconds': 0}


def speed_rows(sp):
    """One row per model: ganforge fp32 / TF32 ms, PyTorch ms, ratios, TFLOP/s."""
    torch = {(r['model'], r['batch']): r['ms'] for r in sp.get('pytorch', []) if r.get('ms')}
    rows = {}
    for g in sp.get('ganforge', []):
        r = rows.setdefault(g['preset'], {'preset': g['preset'], 'batch': g['batch'], 'target': g['target'],
                                          'torch_model': g['torch_model']})
        r[g['mode'] + '_ms'] = g['ms']
        if g.get('gflop'):
            r['gflop'] = g['gflop']
    out = []
    for r in rows.values():
        tb = 1 if r['torch_model'] == 'cyclegan' else r['batch']
        t = torch.get((r['torch_model'], tb))
        r['torch_ms'] = t
        for m in ('fp32', 'tf32'):
            ms = r.get(m + '_ms')
            r[m + '_ratio'] = ms / t if ms and t else None
            r[m + '_tflops'] = r['gflop'] / ms if ms and r.get('gflop') else None
        r['torch_tflops'] = r['gflop'] / t if t and r.get('gflop') else None
        best = min([x for x in (r['fp32_ratio'], r['tf32_ratio']) if x is not None], default=None)
        r['target_met'] = best is not None and best <= r['target']
        out.append(r)
    return out


def fmt(v, spec, none='-'):
    return none if v is None else format(v, spec)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: summarize.py WORK SUMMARY.json')
    work, dest = sys.argv[1], sys.argv[2]
    facts = load(os.path.join(work, 'facts.json'))
    parts = {}
    for p in PARTS:
        f = os.path.join(work, f'part_{p}.json')
        if os.path.exists(f):
            parts[p] = load(f)
    states = [parts[p]['status'] for p in parts]
    status = 'fail' if any(s in ('fail', 'error') for s in states) else \
             'pass' if states and all(s == 'pass' for s in states) and len(parts) == len(PARTS) else 'incomplete'
    summary = {'kit': 'ganforge GPU check kit (tools/gpu/check.sh)', 'status': status,
               'seconds': sum(p.get('seconds', 0) for p in parts.values()), 'machine': facts, 'parts': parts}
    if 'speed' in parts and parts['speed'].get('ganforge'):
        summary['speed_table'] = speed_rows(parts['speed'])
    tmp = dest + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, dest)

    print(f"== GPU check kit: {status.upper()} ({summary['seconds']} s in parts) ==")
    gpu = facts.get('gpu_line') or f"no GPU ({facts.get('gpu_why', '?')})"
    print(f"machine: {gpu}; {facts.get('cores', '?')} cores; nvcc {facts.get('nvcc') or '-'}; "
          f"torch {facts.get('torch') or '-'}")
    for p in PARTS:
        if p in parts:
            d = parts[p]
            print(f"{p:9s} {d['status'].upper():8s} {d.get('seconds', 0):4d} s  {d.get('why', '')}")
    for r in (summary.get('speed_table') or []):
        if r is summary['speed_table'][0]:
            sg = parts['speed'].get('sgemm_gflops')
            print(f"  matrix peak: ganforge sgemm 2048^3 {fmt(sg and sg / 1000, '.1f')} TFLOP/s (fp32); "
                  f"PyTorch: {parts['speed'].get('torch', '-')}")
            print(f"  {'step':12s} {'batch':>5s} {'gf fp32':>9s} {'gf tf32':>9s} {'PyTorch':>9s} {'ratio':>11s} "
                  f"{'target':>6s} {'TFLOP/s gf / PyTorch':>21s}")
        ratio = f"{fmt(r['fp32_ratio'], '.2f')}/{fmt(r['tf32_ratio'], '.2f')}"
        tfl = f"{fmt(r['fp32_tflops'], '.1f')}/{fmt(r['tf32_tflops'], '.1f')} / {fmt(r['torch_tflops'], '.1f')}"
        print(f"  {r['preset']:12s} {r['batch']:5d} {fmt(r.get('fp32_ms'), '9.3f'):>9s} {fmt(r.get('tf32_ms'), '9.3f'):>9s} "
              f"{fmt(r['torch_ms'], '9.3f'):>9s} {ratio:>11s} {r['target']:6.1f} {tfl:>21s}"
              f"{'' if r['target_met'] else '  (target not met)'}")
    par = parts.get('parity', {})
    bad = [x for x in par.get('presets', []) if x['status'] not in ('pass', 'cpu-only')]
    for x in bad:
        print(f"  parity {x['preset']}: {x['status']}: {x['detail']}")


if __name__ == '__main__':
    main()
