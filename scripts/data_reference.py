#!/usr/bin/env python3
"""Reference files for test/runtime/test_data.c, written into test/data/jsc/.

  np_permutation.txt  numpy's legacy RandomState(seed).permutation(n), which sklearn's
                      train_test_split(random_state=seed) uses, for several seeds and sizes
  openml_sample.csv   the first OpenML rows (../shared/data/jsc/README.md) in OpenML's
                      column order, with duplicate rows
  openml_sample.arff  the same rows as ARFF, class last, quoted names and comments
  tiny_lzf.h5         a small t_allpar_new written by h5py with compression='lzf'

The C tests read these files; they never run Python.  Needs numpy and h5py:
    python3 scripts/data_reference.py
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'data', 'jsc')

FEATURES = ['zlogz', 'c1_b0_mmdt', 'c1_b1_mmdt', 'c1_b2_mmdt', 'c2_b1_mmdt', 'c2_b2_mmdt',
            'd2_b1_mmdt', 'd2_b2_mmdt', 'd2_a1_b1_mmdt', 'd2_a1_b2_mmdt', 'm2_b1_mmdt',
            'm2_b2_mmdt', 'n2_b1_mmdt', 'n2_b2_mmdt', 'mass_mmdt', 'multiplicity']
CLASSES = ['g', 'q', 'w', 'z', 't']

# The README's rows, in OpenML's column order (label first).
OPENML_ROWS = [
    'g,-2.93512535,0.383155316,0.00512587558,8.42466834e-05,0.00906995591,0.000178931368,'
    '1.76944518,2.12389827,1.76944518,0.308185428,0.135686919,0.0832780078,0.412136108,'
    '0.299057871,8.92688179,75',
    'w,-1.92733514,0.270698756,0.00158540264,1.13709866e-05,0.00323237223,2.91449633e-05,'
    '2.03883362,2.56309891,2.03883362,0.211886495,0.0637285784,0.0363104008,0.310216516,'
    '0.22666131,3.88651156,31',
    't,-3.11214662,0.458171129,0.0979138538,0.0285884105,0.12427754,0.0384868123,1.26925385,'
    '1.34623826,1.26925385,0.246488109,0.115635969,0.0790941268,0.357558519,0.289219588,'
    '162.144669,61',
]
# File order: the three rows, then duplicates of each (first occurrences stay first).
OPENML_ORDER = [0, 1, 2, 0, 2, 1, 0]


def write_permutations():
    """Each line: seed n checksum k head[k] m tail[m]; checksum = sum((i+1)*perm[i]) mod 2^64."""
    lines = ['# numpy %s: np.random.RandomState(seed).permutation(n)' % np.__version__,
             '# seed n checksum k head... m tail...   (checksum = sum((i+1)*perm[i]) mod 2^64)']
    for seed in [42, 0, 1, 12345, 4294967295]:
        for n in [1, 2, 3, 5, 10, 17, 100, 1000, 4097, 65537, 830000, 986800]:
            if seed != 42 and n > 65537:
                continue
            p = np.random.RandomState(seed).permutation(n).astype(np.uint64)
            check = int((p * np.arange(1, n + 1, dtype=np.uint64)).sum(dtype=np.uint64))
            head = p[:min(n, 200)]
            tail = p[len(head):][-64:] if n > 200 else p[:0]
            lines.append(' '.join([str(seed), str(n), str(check), str(len(head))] +
                                  [str(int(v)) for v in head] + [str(len(tail))] +
                                  [str(int(v)) for v in tail]))
    with open(os.path.join(OUT, 'np_permutation.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def write_openml():
    with open(os.path.join(OUT, 'openml_sample.csv'), 'w') as f:
        f.write('label,' + ','.join(FEATURES) + '\n')
        for i in OPENML_ORDER:
            f.write(OPENML_ROWS[i] + '\n')
    with open(os.path.join(OUT, 'openml_sample.arff'), 'w') as f:
        f.write('% OpenML 42468 hls4ml_lhc_jets_hlf: its first rows, with duplicates\n')
        f.write('@RELATION hls4ml_lhc_jets_hlf\n\n')
        for name in FEATURES:
            f.write("@ATTRIBUTE '%s' NUMERIC\n" % name)
        f.write('@ATTRIBUTE class {g,q,w,z,t}\n\n@DATA\n')
        for i in OPENML_ORDER:
            fields = OPENML_ROWS[i].split(',')
            f.write(','.join(fields[1:]) + ",'" + fields[0] + "'\n")
            if i == 2:
                f.write('% a comment between rows\n\n')


def tiny_jet_value(k, j):
    """Feature j of jet k in tiny_lzf.h5: exact in float32.  test_data.c has the same rule."""
    if j == 15:
        return k % 50 + 10
    return (k * 16 + j) * 0.125 - 100.0


def write_lzf():
    """200 jets, jet k repeated k % 3 + 1 times (as constituents would be), fields in a
    scrambled order with ignored extras, mixed float32 / float64 / int32 types."""
    fields = [('j_index', '<i4'), ('j1_pt', '<f4'), ('j_t', '<f4')]
    for j, name in enumerate(FEATURES):
        t = '<f8' if j == 0 else '<i4' if j == 15 else '<f4'
        fields.append(('j_' + name, t))
    fields += [('j_q', '<f4'), ('j_g', '<f4'), ('j_w', '<i4'), ('j_z', '<f4'), ('j1_etarel', '<f4')]
    rows = []
    for k in range(200):
        for c in range(k % 3 + 1):
            r = {'j_index': k, 'j1_pt': 10.0 * c + 1.0, 'j1_etarel': 0.0}
            for j, name in enumerate(FEATURES):
                r['j_' + name] = tiny_jet_value(k, j)
            for ci, cname in enumerate(CLASSES):
                r['j_' + cname] = 1 if ci == k % 5 else 0
            rows.append(tuple(r[name] for name, _ in fields))
    arr = np.array(rows, dtype=fields)
    path = os.path.join(OUT, 'tiny_lzf.h5')
    with h5py.File(path, 'w') as f:
        d = f.create_dataset('t_allpar_new', data=arr, chunks=(64,), compression='lzf')
        stored, raw = d.id.get_storage_size(), arr.nbytes
    assert stored < raw, 'LZF did not compress the fixture (%d >= %d bytes)' % (stored, raw)
    print('tiny_lzf.h5: %d rows, %d unique, %d bytes stored of %d' % (len(arr), 200, stored, raw))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_permutations()
    write_openml()
    write_lzf()


if __name__ == '__main__':
    main()
