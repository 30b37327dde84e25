"""
Real builds with the commit's files: the travis-dev runs of some repositories, each push build's head commit
looked up in a git mirror of the repository and given what GitHub's commit API would list for it (files with
status, per-file additions and deletions; renames detected as git does). Builds whose commit the mirror lacks
(mostly pull-request merge refs) keep no size, as in the dataset. Writes canonical JSONL for bench/ml-quality.ts.

  python3 bench/ml-quality-git.py OUT.jsonl owner/name ...      (mirrors from the fetch tool under /work/.mirror)

Nothing from the mirrors or the dataset is committed; the output is a local evaluation file.
"""
import gzip, json, subprocess, sys, os, collections
MIRRORS = os.environ.get('MIRRORS', '/work/.mirror')
DATASET = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'datasets', 'travis-dev.jsonl.gz')
mirrors = {}
for d in os.listdir(MIRRORS):
    repo = d.replace('+', '/', 1)
    p = f'{MIRRORS}/{d}/repo'
    if os.path.isdir(p + '/.git'): p += '/.git'
    mirrors[repo] = p
want = set(sys.argv[2:])
if not want: sys.exit('name the repositories (owner/name ...)')
out = open(sys.argv[1], 'w')
rows = collections.defaultdict(list)
for l in gzip.open(DATASET, 'rt'):
    d = json.loads(l)
    if d['repo'] in want and d['repo'] in mirrors: rows[d['repo']].append(d)
for repo, rs in rows.items():
    git = mirrors[repo]
    shas = sorted({r['head_sha'] for r in rs if r['head_sha']})
    # batch: which exist
    p = subprocess.run(['git', '-C', git, 'cat-file', '--batch-check'], input='\n'.join(shas) + '\n', capture_output=True, text=True)
    have = {ln.split()[0] for ln in p.stdout.splitlines() if not ln.endswith('missing')}
    info = {}
    for sha in have:
        q = subprocess.run(['git', '-C', git, 'show', '--first-parent', '-m', '--format=', '--numstat', '-z', '-M', sha], capture_output=True, text=True)
        s = subprocess.run(['git', '-C', git, 'show', '--first-parent', '-m', '--format=', '--name-status', '-M', sha], capture_output=True, text=True)
        changes = []
        for ln in s.stdout.splitlines():
            parts = ln.split('\t')
            st = parts[0][0]
            status = {'A': 'added', 'D': 'removed', 'M': 'modified', 'R': 'renamed', 'C': 'copied', 'T': 'changed'}.get(st, 'changed')
            fn = parts[-1]
            changes.append({'filename': fn, 'status': status, **({'previous_filename': parts[1]} if st in 'RC' else {})})
        # numstat -z: "add\tdel\tpath\0" or "add\tdel\t\0old\0new\0"
        toks = q.stdout.split('\0'); per = {}
        i = 0
        while i < len(toks):
            t = toks[i]
            if not t.strip(): i += 1; continue
            a, dl, pth = t.split('\t') if t.count('\t') == 2 else (t.split('\t') + [''])[:3]
            a = a.strip('\n')
            if pth == '':
                pth = toks[i + 2]; i += 3
            else: i += 1
            per[pth] = (0 if a == '-' else int(a), 0 if dl == '-' else int(dl))
        for c in changes:
            a, dl = per.get(c['filename'], (0, 0))
            c['additions'], c['deletions'] = a, dl
        info[sha] = changes
    n = 0
    for r in rs:
        ch = info.get(r['head_sha'])
        if ch is not None:
            ch = ch[:3000]
            r['files'] = [c['filename'] for c in ch]
            r['file_changes'] = ch
            r['files_changed'] = len(ch)
            r['additions'] = sum(c['additions'] for c in ch)
            r['deletions'] = sum(c['deletions'] for c in ch)
            n += 1
        out.write(json.dumps(r) + '\n')
    print(repo, len(rs), 'with commit', n, file=sys.stderr)
