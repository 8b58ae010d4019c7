#!/usr/bin/env python3
# Writes a copy of an ELF64 little-endian object with section header fields changed, for
# tests of how the differ refuses malformed input.
# usage: corrupt-elf.py IN OUT [SECTION:FIELD=VALUE | SECTION:name=NEWNAME]...
# FIELD is one of type, flags, addralign, entsize, size, link, info; VALUE is an integer
# (0x... allowed). Renaming appends the new name to a copy of the section name table at
# the end of the file.
import struct
import sys

SHDR = struct.Struct('<IIQQQQIIQQ')
FIELDS = ['name', 'type', 'flags', 'addr', 'offset', 'size', 'link', 'info', 'addralign',
          'entsize']


def main():
    src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
    data = bytearray(open(src, 'rb').read())
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        sys.exit('%s: not an ELF64 little-endian object' % src)
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shnum, shstrndx = struct.unpack_from('<HH', data, 0x3c)
    shdrs = [list(SHDR.unpack_from(data, shoff + i * SHDR.size)) for i in range(shnum)]
    strs = shdrs[shstrndx]

    def name_of(h):
        tab = data[strs[4]:strs[4] + strs[5]]
        return tab[h[0]:tab.index(b'\0', h[0])].decode()

    for edit in edits:
        sec, _, rest = edit.partition(':')
        field, _, value = rest.partition('=')
        hits = [h for h in shdrs[1:] if name_of(h) == sec]
        if len(hits) != 1:
            sys.exit('%s: %d sections named %s' % (src, len(hits), sec))
        h = hits[0]
        if field == 'name':
            tab = bytes(data[strs[4]:strs[4] + strs[5]])
            strs[4], strs[5] = len(data), len(tab) + len(value) + 1
            data += tab + value.encode() + b'\0'
            h[0] = len(tab)
        else:
            h[FIELDS.index(field)] = int(value, 0)
    for i, h in enumerate(shdrs):
        SHDR.pack_into(data, shoff + i * SHDR.size, *h)
    open(dst, 'wb').write(data)


main()
