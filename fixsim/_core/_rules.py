"""Result-type rules: small pure functions ``numerictype x fimath -> numerictype``.

They are kept apart from the arithmetic (astropy.units' converters/helpers split). Every rule
states where it comes from; ``rules='hls'`` follows ac_fixed/ap_fixed's C++ return types.
"""

from __future__ import annotations

from ._fimath import fimath
from ._numerictype import MAX_WORD_LENGTH, numerictype

__all__ = [
    "growth_bits", "apply_mode", "ideal_add", "ideal_add_parts", "ideal_mul", "ideal_mul_parts",
    "add_type", "sub_type", "mul_type", "div_type", "neg_type",
    "abs_type", "sum_type", "prod_type", "inner_type", "conv_type", "union_type",
]


def growth_bits(n: int) -> int:
    """``ceil(log2(n))`` for ``n >= 1``: bits an ``n``-term sum can grow by."""
    return max(int(n) - 1, 0).bit_length()


def _check(wl: int, limit: int, what: str) -> None:
    if wl > limit:
        raise OverflowError(
            f"the {what} needs a {wl}-bit word, more than the maximum of {limit} "
            f"({'max_product_word_length' if what == 'product' else 'max_sum_word_length'}; "
            f"fixsim words stop at {MAX_WORD_LENGTH} bits). Use keep_msb or specify modes."
        )


def apply_mode(ideal, mode: str, word_length: int, fraction_length: int,
               limit: int, what: str) -> numerictype:
    """Turn a full-precision (ideal) type into the type a product/sum mode asks for.

    *ideal* is a numerictype or a ``(signed, word_length, fraction_length)`` tuple; a tuple may
    be wider than a numerictype can be (65535 bits), since only ``full`` keeps its width.

    * ``full``: the ideal type (an ``OverflowError`` when it is wider than *limit*).
    * ``keep_lsb``: word length as given, the ideal fraction length (MSBs may overflow).
    * ``keep_msb``: word length as given, the ideal integer bits (LSBs are rounded off);
      never more fractional bits than the ideal type has.
    * ``specify``: word and fraction length as given.
    """
    signed, wl, fl = _parts(ideal)
    if mode == "full":
        _check(wl, limit, what)
        return ideal if isinstance(ideal, numerictype) else numerictype(signed, wl, fl)
    if mode == "keep_lsb":
        return numerictype(signed, word_length, fl)
    if mode == "keep_msb":
        drop = max(wl - word_length, 0)
        return numerictype(signed, word_length, fl - drop)
    return numerictype(signed, word_length, fraction_length)


def _parts(t) -> tuple[bool, int, int]:
    if isinstance(t, numerictype):
        return t.signed, t.word_length, t.fraction_length
    return t


def _checked(parts: tuple[bool, int, int], what: str) -> numerictype:
    """A numerictype from parts, with the rules' own error when it is too wide."""
    _check(parts[1], MAX_WORD_LENGTH, what)
    return numerictype(*parts)


def _product_type(ideal: numerictype, F: fimath) -> numerictype:
    return apply_mode(ideal, F.product_mode, F.product_word_length, F.product_fraction_length,
                      F.max_product_word_length, "product")


def _sum_type(ideal: numerictype, F: fimath) -> numerictype:
    return apply_mode(ideal, F.sum_mode, F.sum_word_length, F.sum_fraction_length,
                      F.max_sum_word_length, "sum")


def ideal_add_parts(ta: numerictype, tb: numerictype, rules: str = "matlab",
                    subtract: bool = False) -> tuple[bool, int, int]:
    """Full-precision sum type as ``(signed, word_length, fraction_length)`` (any width).

    MATLAB: ``FL = max(FLa, FLb)``, ``IL = max(ILa, ILb)``, ``WL = IL + FL + 1`` plus one more
    bit when the signedness differs; signed if either is.
    HLS: ``I = max(Ia + (Sb and not Sa), Ib + (Sa and not Sb)) + 1``, ``F = max``; signed if
    either is (add) or always (subtract).
    """
    f = max(ta.fraction_length, tb.fraction_length)
    if rules == "hls":
        sa, sb = ta.signed, tb.signed
        i = max(ta.integer_length + (sb and not sa), tb.integer_length + (sa and not sb)) + 1
        return (sa or sb or subtract, i + f, f)
    i = max(ta.integer_length, tb.integer_length)
    w = i + f + 1 + (1 if ta.signed != tb.signed else 0)
    return (ta.signed or tb.signed, w, f)


def ideal_add(ta: numerictype, tb: numerictype, rules: str = "matlab",
              subtract: bool = False) -> numerictype:
    """Full-precision sum type (see :func:`ideal_add_parts`); ``OverflowError`` past 65535
    bits."""
    return _checked(ideal_add_parts(ta, tb, rules, subtract), "sum")


def add_type(ta: numerictype, tb: numerictype, F: fimath) -> numerictype:
    """Type of ``a + b`` under fimath *F*."""
    return _sum_type(ideal_add_parts(ta, tb, F.rules), F)


def sub_type(ta: numerictype, tb: numerictype, F: fimath) -> numerictype:
    """Type of ``a - b`` under fimath *F* (MATLAB: as for ``+``; HLS: always signed)."""
    return _sum_type(ideal_add_parts(ta, tb, F.rules, subtract=True), F)


def ideal_mul_parts(ta: numerictype, tb: numerictype) -> tuple[bool, int, int]:
    """Full-precision product as ``(signed, word_length, fraction_length)`` (any width):
    ``WL = WLa + WLb``, ``FL = FLa + FLb``, signed if either is (MATLAB and HLS)."""
    return (ta.signed or tb.signed, ta.word_length + tb.word_length,
            ta.fraction_length + tb.fraction_length)


def ideal_mul(ta: numerictype, tb: numerictype) -> numerictype:
    """Full-precision product type; ``OverflowError`` past 65535 bits."""
    return _checked(ideal_mul_parts(ta, tb), "product")


def mul_type(ta: numerictype, tb: numerictype, F: fimath) -> numerictype:
    """Type of ``a * b`` under fimath *F*."""
    return _product_type(ideal_mul_parts(ta, tb), F)


def div_type(ta: numerictype, tb: numerictype, F: fimath) -> numerictype:
    """Type of ``a / b``.

    MATLAB ``rdivide``: ``WL = max(WLa, WLb)``, ``FL = FLa - FLb``, signed if either is.
    HLS: ``W = Wa + max(Fb, 0) + Sb``, ``I = Ia + Fb + Sb``, signed if either is.
    """
    signed = ta.signed or tb.signed
    if F.rules == "hls":
        sb = int(tb.signed)
        w = ta.word_length + max(tb.fraction_length, 0) + sb
        i = ta.integer_length + tb.fraction_length + sb
        return numerictype(signed, w, w - i)
    return numerictype(signed, max(ta.word_length, tb.word_length),
                       ta.fraction_length - tb.fraction_length)


def neg_type(t: numerictype, F: fimath) -> numerictype:
    """Type of ``-a``: MATLAB keeps the type (so ``-min`` overflows); HLS grows one bit."""
    if F.rules == "hls":
        return numerictype(True, t.word_length + 1, t.fraction_length)
    return t


def abs_type(t: numerictype, F: fimath) -> numerictype:
    """Type of ``abs(a)``: MATLAB keeps the type; HLS as for negation when signed."""
    if F.rules == "hls" and t.signed:
        return numerictype(True, t.word_length + 1, t.fraction_length)
    return t


def sum_type(t: numerictype, n: int, F: fimath) -> numerictype:
    """Type of an ``n``-term ``sum``: ``ceil(log2 n)`` more integer bits (MATLAB ``sum``)."""
    return _sum_type((t.signed, t.word_length + growth_bits(n), t.fraction_length), F)


def prod_type(t: numerictype, n: int, F: fimath) -> numerictype:
    """Type of an ``n``-factor ``prod`` (full precision: ``n*WL`` bits, ``n*FL`` fraction)."""
    n = max(int(n), 1)
    return _product_type((t.signed, t.word_length * n, t.fraction_length * n), F)


def inner_type(ta: numerictype, tb: numerictype, k: int, F: fimath) -> tuple[numerictype,
                                                                               numerictype]:
    """(product type, accumulator type) of a ``k``-term inner product (``dot``, ``@``).

    Products are in the product type; the sum grows ``ceil(log2 k)`` bits from it.
    """
    pt = mul_type(ta, tb, F)
    return pt, _sum_type((pt.signed, pt.word_length + growth_bits(k), pt.fraction_length), F)


def conv_type(ta: numerictype, tb: numerictype, na: int, nb: int,
              F: fimath) -> tuple[numerictype, numerictype]:
    """(product type, accumulator type) of a full convolution of lengths ``na`` and ``nb``.

    Each output sums at most ``min(na, nb)`` products.
    """
    return inner_type(ta, tb, max(min(na, nb), 1), F)


def union_type(types) -> numerictype:
    """The smallest type that holds every value of every type in *types* exactly."""
    types = list(types)
    f = max(t.fraction_length for t in types)
    signed = any(t.signed for t in types)
    # magnitude bits needed left of the binary point (excluding the sign bit)
    mag = max(t.integer_length - (1 if t.signed else 0) for t in types)
    return numerictype(signed, mag + f + (1 if signed else 0), f)
