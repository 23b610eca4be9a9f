"""What glibc and musl take from a resolv.conf: the settings that shape a lookup's queries.

Each libc reads the text kubelet writes, not kubelet's intent, so the two can disagree on
the same file.

glibc (``resolv/res_init.c``, ``res_vinit_1`` and ``res_setoptions``): lines of any length
(getline); the last ``search`` line wins, split on blanks, with no limit on the count. Each
options token is matched by prefix: ``ndots:`` is read with strtol (no digits → 0), values
above ``RES_MAXNDOTS`` (15) become 15, and the result lands in the 4-bit ``ndots`` field of
``struct __res_state``, so a negative value wraps; ``no-tld-query``/``no_tld_query`` and
``no-aaaa`` set flags, a leading ``-`` clears one.

musl (``src/network/resolvconf.c``, ``__get_resolv_conf``): lines are read into a 256-byte
buffer and a line that does not fit (255 characters or more before its newline) is skipped
whole, so a long search line leaves no search list at all; on an options line the first
``ndots:`` followed by a digit counts, capped at 15; the last ``search`` or ``domain`` line
wins. musl has none of glibc's flag options.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_NDOTS = 15  # glibc RES_MAXNDOTS (resolv/resolv.h); musl caps at the same value
MUSL_LINE_BUFFER = 256  # musl's char line[256]: 255 characters and the terminating NUL
DEFAULT_NDOTS = 1
_GLIBC_BLANKS = " \t"
_C_SPACE = " \t\n\r\v\f"  # isspace in the C locale


@dataclass(frozen=True, slots=True)
class LibcConf:
    libc: str
    ndots: int
    searches: tuple[str, ...]
    no_tld_query: bool = False
    no_aaaa: bool = False
    notes: tuple[str, ...] = ()


def read(text: str, libc: str) -> LibcConf:
    return _musl(text) if libc == "musl" else _glibc(text)


def _keyword(line: str, word: str, blanks: str) -> str | None:
    """The rest of ``line`` after ``word`` and one of ``blanks``, or None: glibc's MATCH wants
    a space or tab after the keyword, musl any isspace character."""
    if line.startswith(word) and line[len(word):len(word) + 1] in tuple(blanks):
        return line[len(word) + 1:]
    return None


def _strtol(s: str) -> int:
    """C strtol on a decimal prefix, then the conversion to glibc's ``int i``."""
    s = s.lstrip(_C_SPACE)
    sign = -1 if s[:1] == "-" else 1
    s = s[1:] if s[:1] in "+-" else s
    digits = _digits(s)
    value = sign * int(digits) if digits else 0
    value = max(min(value, 2**63 - 1), -2**63)  # strtol saturates at LONG_MAX/LONG_MIN
    value &= 0xFFFFFFFF  # then the assignment to int keeps the low 32 bits
    return value - 2**32 if value >= 2**31 else value


def _glibc(text: str) -> LibcConf:
    ndots, no_tld, no_aaaa = DEFAULT_NDOTS, False, False
    searches: tuple[str, ...] = ()
    notes: list[str] = []
    for line in text.splitlines():
        if (rest := _keyword(line, "search", _GLIBC_BLANKS)) is not None:
            if rest.strip(_GLIBC_BLANKS):
                searches = tuple(t for t in rest.replace("\t", " ").split(" ") if t)
        elif (rest := _keyword(line, "domain", _GLIBC_BLANKS)) is not None:
            if rest.strip(_GLIBC_BLANKS):
                searches = (rest.replace("\t", " ").split()[0],)
        elif (rest := _keyword(line, "options", _GLIBC_BLANKS)) is not None:
            for token in rest.replace("\t", " ").split(" "):
                negate = token.startswith("-")
                flag = token[1:] if negate else token
                if token.startswith("ndots:"):
                    given = _strtol(token[len("ndots:"):])
                    ndots = (given & 0xF) if given <= MAX_NDOTS else MAX_NDOTS
                    if given > MAX_NDOTS:
                        notes.append(f"{token}: glibc caps ndots at {MAX_NDOTS} (RES_MAXNDOTS)")
                    elif given < 0:
                        notes.append(f"{token}: glibc stores ndots in 4 bits, so it reads {ndots}")
                elif flag.startswith(("no-tld-query", "no_tld_query")):
                    no_tld = not negate
                elif flag.startswith("no-aaaa"):
                    no_aaaa = not negate
    return LibcConf("glibc", ndots, searches, no_tld, no_aaaa, tuple(notes))


def _musl(text: str) -> LibcConf:
    ndots = DEFAULT_NDOTS
    searches: tuple[str, ...] = ()
    notes: list[str] = []
    for raw in text.splitlines():
        line = raw + "\n"  # fgets keeps the newline, and musl's keyword test accepts it as a blank
        if len(raw) >= MUSL_LINE_BUFFER - 1:
            word = raw.split(" ", 1)[0]
            notes.append(f"musl skips the {len(raw)}-character {word} line of resolv.conf: it reads "
                         f"lines into a {MUSL_LINE_BUFFER}-byte buffer and ignores one that does not fit"
                         + (", so it searches no domain" if word in ("search", "domain") else "")
                         + (f", so ndots is {DEFAULT_NDOTS}" if word == "options" else ""))
            continue
        if _keyword(line, "options", _C_SPACE) is not None:
            at = line.find("ndots:")
            digits = _digits(line[at + 6:]) if at >= 0 else ""
            if digits:
                ndots = min(int(digits), MAX_NDOTS)
                if int(digits) > MAX_NDOTS:
                    notes.append(f"ndots:{digits}: musl caps ndots at {MAX_NDOTS}")
            continue
        rest = _keyword(line, "search", _C_SPACE)
        rest = _keyword(line, "domain", _C_SPACE) if rest is None else rest
        if rest is not None:  # even an empty one: it replaces the earlier list
            searches = tuple(rest.split())
    return LibcConf("musl", ndots, searches, notes=tuple(notes))


def _digits(s: str) -> str:
    n = 0
    while n < len(s) and s[n] in "0123456789":
        n += 1
    return s[:n]
