"""The local stack's demo product: a one-page PDF on sale, so a newcomer can buy something the
moment `make run` is up."""

from __future__ import annotations

from typing import Any

from bull_chalice import resources
from chalicelib.catalog.products import Catalog
from chalicelib.errors import NotFound
from chalicelib.platform.config import Settings

PRODUCT_ID = "prod_demo0000000001"
FILENAME = "bull-demo-guide.pdf"


def demo_file() -> bytes:
    """A small, valid one-page PDF: the demo product's file."""
    text = b"BT /F1 24 Tf 72 720 Td (Bull demo guide: thank you for buying!) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def add_demo_product(s3: Any, settings: Settings) -> Any:
    """Put the demo guide on sale (the tables and bucket exist already); a stack that kept its
    data has it already."""
    try:
        return Catalog().get(PRODUCT_ID, fresh=True)
    except NotFound:
        pass
    return resources.add_product(
        Catalog(),
        s3,
        settings,
        name="The Bull Demo Guide",
        description="A one-page PDF to try the whole purchase, from checkout to download.",
        price_cents=1999,
        filename=FILENAME,
        content=demo_file(),
        product_id=PRODUCT_ID,
    )
