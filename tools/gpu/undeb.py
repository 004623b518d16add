#!/usr/bin/env python3
"""undeb.py: unpacks the files of a .deb into a folder, like `dpkg -x DEB DIR`, for machines
without dpkg (the GPU check kit, tools/gpu/prefix.sh). A .deb is an ar archive whose member
data.tar.{xz,gz,zst,} holds the files; zstd needs the `zstd` program."""
import io, os, subprocess, sys, tarfile


def members(path):
    with open(path, 'rb') as f:
        if f.read(8) != b'!<arch>\n':
            sys.exit(f'undeb.py: {path}: not a .deb (no ar header)')
        while True:
            head = f.read(60)
            if len(head) < 60:
                return
            name, size = head[:16].decode().strip().rstrip('/'), int(head[48:58].decode().strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            yield name, data


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: undeb.py DEB DIR')
    deb, dest = sys.argv[1], sys.argv[2]
    for name, data in members(deb):
        if not name.startswith('data.tar'):
            continue
        if name.endswith('.zst'):
            data = subprocess.run(['zstd', '-dc'], input=data, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data), mode='r:*') as t:
            for m in t.getmembers():
                if m.name.startswith('/') or '..' in m.name.split('/'):
                    sys.exit(f'undeb.py: {deb}: unsafe path {m.name}')
            os.makedirs(dest, exist_ok=True)
            if hasattr(tarfile, 'tar_filter'):  # keeps absolute symbolic links (prefix.sh rewrites them)
                t.extractall(dest, filter='tar')
            else:
                t.extractall(dest)
        return
    sys.exit(f'undeb.py: {deb}: no data.tar member')


if __name__ == '__main__':
    main()
