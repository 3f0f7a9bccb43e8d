"""Active ISO 4217 currency codes (the list-one table, without funds, precious metals and the
testing/no-currency codes XTS/XXX). Deal money is validated against it. Also the one place
that formats and parses amounts typed or shown in the pages."""
import re

ISO_4217_ACTIVE = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split())


def normalise(code) -> str | None:
    """The upper-case code if ``code`` names an active currency, else ``None``."""
    if not isinstance(code, str):
        return None
    code = code.strip().upper()
    return code if code in ISO_4217_ACTIVE else None


def format_money(cents, currency: str) -> str:
    """Integer cents as ``1,234.56 USD`` (display only; money is never a float)."""
    if cents is None:
        return ""
    return f"{format_amount(cents)} {currency}"


def format_amount(cents: int) -> str:
    """Integer cents as ``1,234.56``: what the pages show and what the amount inputs accept."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{rest:02d}"


# ASCII digits only (re.ASCII: \d would also match ١٢٣), thousands grouped by commas or not at all
_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?", re.ASCII)


def parse_amount(text: str) -> int:
    """A typed amount in currency units -> integer cents. Accepts ``12500``, ``12500.5``,
    ``12,500.50`` (the format the pages display); refuses negatives, more than two decimals,
    underscores and digits of other scripts with ``ValueError`` and a message for the admin."""
    text = (text or "").strip()
    if text.startswith("-"):
        raise ValueError("The amount cannot be negative.")
    match = _AMOUNT.fullmatch(text) if len(text) <= 40 else None
    if not match:
        raise ValueError("Enter an amount such as 12,500.50 (digits 0-9, at most two decimals).")
    whole, _, decimals = text.partition(".")
    return int(whole.replace(",", "")) * 100 + int((decimals + "00")[:2])


def picker_groups(default: str, in_use) -> list[tuple[str, list[str]]]:
    """The currency picker's option groups: the default and the currencies the tenant already
    uses first (the ones anybody picks), then every other active code, each group sorted after
    the default."""
    first = [default] + sorted({normalise(c) for c in in_use if normalise(c)} - {default})
    return [("Your currencies", first), ("All currencies", sorted(ISO_4217_ACTIVE - set(first)))]
