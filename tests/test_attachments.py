"""Attachments: checked by content, stored without leftovers, text read in a sandboxed worker."""

from __future__ import annotations

import errno
import hashlib
import io
import re
import resource
import subprocess
import sys
import time

import pytest
from flask import Flask, send_file
from openpyxl import Workbook

from portal.kb import attachments
from portal.kb.attachments import (
    ALLOWED_EXTENSIONS,
    AttachmentError,
    extract_text,
    human_size,
    kind_for_content_type,
    safe_download_name,
    store_upload,
)
from portal.kb.extract_worker import EXIT_MALFORMED, MAX_ZIP_ENTRIES

from . import fixtures_files as files

MB = 1024 * 1024


@pytest.fixture
def upload_dir(tmp_path):
    return tmp_path / "attachments"


def upload(upload_dir, data: bytes, name: str | None, max_bytes: int = 20 * MB):
    return store_upload(io.BytesIO(data), name, upload_dir, max_bytes)


def leftovers(upload_dir) -> list[str]:
    return sorted(p.name for p in upload_dir.iterdir()) if upload_dir.exists() else []


def refused(upload_dir, data: bytes, name: str, max_bytes: int = 20 * MB) -> AttachmentError:
    with pytest.raises(AttachmentError) as info:
        upload(upload_dir, data, name, max_bytes)
    assert leftovers(upload_dir) == []
    return info.value


def stored_text(upload_dir, data: bytes, name: str, **options) -> str:
    stored = upload(upload_dir, data, name)
    return extract_text(upload_dir / stored.stored_name, stored.kind, **options)


# --- accepted files -----------------------------------------------------------------------


def test_pdf_is_stored_under_a_generated_name_with_its_hash(upload_dir):
    data = files.pdf(["Commercial proposal"])

    stored = upload(upload_dir, data, "КП для ООО Ромашка.pdf")

    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", stored.stored_name)
    assert leftovers(upload_dir) == [stored.stored_name]
    assert (upload_dir / stored.stored_name).read_bytes() == data
    assert stored.original_name == "КП для ООО Ромашка.pdf"
    assert (stored.kind, stored.content_type) == ("pdf", "application/pdf")
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_pdf_text_is_extracted_latin_and_cyrillic(upload_dir):
    data = files.pdf(["Commercial proposal", "Коммерческое предложение"])

    text = stored_text(upload_dir, data, "kp.pdf")

    assert "Commercial proposal" in text
    assert "Коммерческое предложение" in text


def test_docx_text_keeps_paragraphs(upload_dir):
    data = files.docx(["Скрипт холодного звонка", "Добрый день! Меня зовут Анна."])

    stored = upload(upload_dir, data, "скрипт.docx")
    text = extract_text(upload_dir / stored.stored_name, stored.kind)

    assert stored.kind == "docx"
    assert stored.content_type.endswith("wordprocessingml.document")
    assert text == "Скрипт холодного звонка\nДобрый день! Меня зовут Анна."


def test_xlsx_from_openpyxl_gives_strings_and_numbers_of_every_sheet(upload_dir):
    book = Workbook()
    prices = book.active
    prices.title = "Прайс"
    prices.append(["Товар", "Цена"])
    prices.append(["Станок ЧПУ", 1250000])
    discounts = book.create_sheet("Скидки")
    discounts.append(["Опт", 0.15])
    buffer = io.BytesIO()
    book.save(buffer)

    text = stored_text(upload_dir, buffer.getvalue(), "прайс.xlsx")

    assert "Прайс\nТовар\tЦена\nСтанок ЧПУ\t1250000" in text
    assert "Скидки\nОпт\t0.15" in text


def test_xlsx_inline_strings_are_read(upload_dir):
    data = files.xlsx_inline({"Лист1": [["Клиент", "Сумма"], ["ООО Вектор", 990.5]]})

    text = stored_text(upload_dir, data, "сделки.xlsx")

    assert "Клиент\tСумма\nООО Вектор\t990.5" in text


def test_pptx_slides_come_in_presentation_order(upload_dir):
    data = files.pptx([["Второй слайд"], ["Первый слайд", "Почему мы"]], order=[2, 1])

    text = stored_text(upload_dir, data, "презентация.pptx")

    assert text == "Первый слайд\nПочему мы\n\nВторой слайд"


TEXT = "Возражение «дорого»: сравните стоимость владения.\r\nЦена от 100 руб."


@pytest.mark.parametrize(
    ("encoding", "charset"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("cp1251", "windows-1251"), ("utf-16", "utf-16")],
)
def test_text_files_in_russian_encodings(upload_dir, encoding, charset):
    stored = upload(upload_dir, TEXT.encode(encoding), "возражения.txt")

    text = extract_text(upload_dir / stored.stored_name, stored.kind)

    assert stored.content_type == f"text/plain; charset={charset}"
    assert text == TEXT.replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [("logo.png", files.png(), "png"), ("фото.JPG", files.jpeg(), "jpeg")],
)
def test_images_are_stored_and_have_no_text(upload_dir, name, data, kind):
    stored = upload(upload_dir, data, name)

    assert stored.kind == kind
    assert extract_text(upload_dir / stored.stored_name, kind) == ""


def test_a_name_without_extension_gets_the_detected_one(upload_dir):
    stored = upload(upload_dir, files.png(), "Схема проезда")

    assert stored.original_name == "Схема проезда.png"


def test_the_display_name_loses_folders_controls_and_excess_length(upload_dir):
    name = "C:\\fakepath\\Коммерческое\x07 предложение\u202e.pdf"
    long_name = "Д" * 300 + ".pdf"

    assert upload(upload_dir, files.pdf(["x"]), name).original_name == (
        "Коммерческое предложение.pdf"
    )
    shortened = upload(upload_dir, files.pdf(["x"]), long_name).original_name
    assert len(shortened) == 255 and shortened.endswith("Д.pdf")
    assert upload(upload_dir, files.pdf(["x"]), None).original_name == "attachment.pdf"


# --- refused files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "code", "says"),
    [
        ("report.pdf", files.png(), "type_mismatch", "The file is a PNG image, not a PDF document"),
        ("report.docx", files.pdf(["x"]), "type_mismatch", "a PDF document, not a Word"),
        ("script.pdf", b"alert('hi');\n", "type_mismatch", "a plain text file, not a PDF"),
        ("invoice.pdf", files.windows_exe(), "unsupported_type", "a Windows program"),
        ("offer.docx", b"<!DOCTYPE html><html><body>Hi</body></html>", "unsupported_type", "HTML"),
        ("logo.pdf", b'<?xml version="1.0"?><svg xmlns="x"/>', "unsupported_type", "SVG image"),
        ("notes.txt", b"<html><script>alert(1)</script></html>", "unsupported_type", "HTML"),
        ("offer.docx", files.plain_zip({"a.txt": b"hi"}), "unsupported_type", "a ZIP archive"),
        ("offer.docx", files.old_office(), "unsupported_type", "Save it as DOCX"),
        ("setup.exe", files.pdf(["x"]), "unsupported_type", "Files of type .exe"),
        ("data.bin.pdf", b"\x01\x02\x03binary\x00", "unsupported_type", "not recognised"),
    ],
)
def test_spoofed_or_foreign_files_are_refused(upload_dir, name, data, code, says):
    error = refused(upload_dir, data, name)

    assert error.code == code
    assert says in str(error)


def test_macro_enabled_office_file_is_refused(upload_dir):
    data = files.package(
        "docm", {"word/document.xml": files.document_xml(["x"])}, types=files.content_types("docm")
    )

    error = refused(upload_dir, data, "offer.docx")

    assert error.code == "unsupported_type"
    assert "macros" in str(error)


def test_damaged_office_file_is_malformed(upload_dir):
    data = files.docx(["Текст"])

    error = refused(upload_dir, data[: len(data) // 2], "offer.docx")

    assert error.code == "malformed"


def test_empty_file_is_refused(upload_dir):
    error = refused(upload_dir, b"", "empty.pdf")

    assert (error.code, str(error)) == ("empty", "The file is empty.")


class EndlessStream:
    """An upload that never ends, counting what was read from it."""

    def __init__(self):
        self.served = 0

    def read(self, size: int = -1) -> bytes:
        size = size if size > 0 else 65536
        self.served += size
        assert self.served < 100 * MB, "the upload was not cut off"
        return b"a" * size


def test_oversize_upload_is_cut_off_early_and_removed(upload_dir):
    stream = EndlessStream()

    with pytest.raises(AttachmentError) as info:
        store_upload(stream, "big.txt", upload_dir, 100 * 1024)

    assert info.value.code == "too_large"
    assert info.value.http_status == 413
    assert "larger than 100 KB" in str(info.value)
    assert stream.served <= 100 * 1024 + attachments.UPLOAD_CHUNK
    assert leftovers(upload_dir) == []


def test_file_of_exactly_max_bytes_is_accepted(upload_dir):
    stored = upload(upload_dir, b"x" * 1000, "a.txt", max_bytes=1000)

    assert stored.size == 1000


class DiskFullStream(io.BytesIO):
    def read(self, size: int = -1) -> bytes:
        if self.tell() >= 128 * 1024:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().read(size)


def test_disk_full_midway_is_storage_failed_and_leaves_nothing(upload_dir):
    with pytest.raises(AttachmentError) as info:
        store_upload(DiskFullStream(b"a" * MB), "notes.txt", upload_dir, 20 * MB)

    assert info.value.code == "storage_failed"
    assert isinstance(info.value.__cause__, OSError)
    assert leftovers(upload_dir) == []


# --- hostile files ------------------------------------------------------------------------


def test_zip_bomb_is_refused_quickly_without_inflating(tmp_path, upload_dir):
    bomb = tmp_path / "bomb.docx"
    files.write_docx_bomb(bomb, expanded_mb=300)
    assert bomb.stat().st_size < 5 * MB
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started = time.monotonic()
    with bomb.open("rb") as stream, pytest.raises(AttachmentError) as info:
        store_upload(stream, "offer.docx", upload_dir, 20 * MB)
    refused_in = time.monotonic() - started

    assert info.value.code == "too_complex"
    assert "unpacks into far more data" in str(info.value)
    assert refused_in < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50 * 1024  # KiB
    assert leftovers(upload_dir) == []
    with pytest.raises(AttachmentError) as info:
        extract_text(bomb, "docx")
    assert info.value.code == "too_complex"


def test_archive_with_too_many_entries_is_refused(tmp_path, upload_dir):
    members = {f"xl/media/image{n}.png": b"" for n in range(MAX_ZIP_ENTRIES + 1)}
    members["[Content_Types].xml"] = files.content_types("xlsx").encode()

    error = refused(upload_dir, files.plain_zip(members), "book.xlsx")

    assert error.code == "too_complex"


def test_member_lying_about_its_size_is_not_read_past_the_lie(upload_dir):
    honest = files.package(
        "docx", {"word/document.xml": b"<w:document>" + b"0" * (20 * MB) + b"</w:document>"}
    )
    lying = files.lie_about_size(honest, "word/document.xml", declared=1000)
    stored = upload(upload_dir, lying, "offer.docx")  # the declared sizes look innocent

    started = time.monotonic()
    with pytest.raises(AttachmentError) as info:
        extract_text(upload_dir / stored.stored_name, "docx")

    assert info.value.code == "malformed"
    assert time.monotonic() - started < 5


def test_billion_laughs_in_a_document_is_malformed(upload_dir):
    document = files.BILLION_LAUGHS + f'<w:document xmlns:w="{files.W_NS}">&lol9;</w:document>'
    stored = upload(upload_dir, files.package("docx", {"word/document.xml": document}), "a.docx")

    with pytest.raises(AttachmentError) as info:
        extract_text(upload_dir / stored.stored_name, "docx")

    assert info.value.code == "malformed"
    assert "DTD" in info.value.detail


def test_billion_laughs_in_content_types_is_refused_at_upload(upload_dir):
    types = files.BILLION_LAUGHS + files.content_types("docx").split("\n", 1)[1]
    data = files.package("docx", {"word/document.xml": files.document_xml(["x"])}, types=types)

    error = refused(upload_dir, data, "a.docx")

    assert error.code == "malformed"


def test_malformed_pdf_is_an_error_not_a_crash(upload_dir):
    stored = upload(upload_dir, b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R\n", "a.pdf")

    with pytest.raises(AttachmentError) as info:
        extract_text(upload_dir / stored.stored_name, "pdf")

    assert info.value.code == "malformed"
    assert "could not be read" in str(info.value)


def test_extraction_is_killed_when_it_exceeds_the_timeout(tmp_path, monkeypatch):
    path = tmp_path / "slow.txt"
    path.write_text("текст", encoding="utf-8")
    monkeypatch.setattr(
        attachments,
        "_worker_command",
        lambda *args, **kwargs: [sys.executable, "-c", "import time; time.sleep(60)"],
    )

    started = time.monotonic()
    with pytest.raises(AttachmentError) as info:
        extract_text(path, "txt", timeout=0.5)

    assert info.value.code == "too_complex"
    assert "took too long" in str(info.value)
    assert time.monotonic() - started < 5


def test_real_worker_times_out_on_a_large_file(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes("Строка текста\n".encode() * 500_000)

    with pytest.raises(AttachmentError) as info:
        extract_text(path, "txt", timeout=0.001)

    assert info.value.code == "too_complex"


def test_worker_caps_its_own_memory():
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('w', {str(attachments.WORKER_SCRIPT)!r})\n"
        "w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)\n"
        "w.apply_limits(memory_mb=256, cpu_seconds=5)\n"
        "data = bytearray(512 * 1024 * 1024)\n"
    )

    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, timeout=30)

    assert result.returncode != 0
    assert b"MemoryError" in result.stderr


def test_worker_reports_failure_in_one_line(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")

    result = subprocess.run(
        [sys.executable, "-I", str(attachments.WORKER_SCRIPT), str(path), "docx"],
        capture_output=True,
        timeout=30,
    )

    assert result.returncode == EXIT_MALFORMED
    assert result.stdout == b""
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_extracted_text_stops_at_max_chars(upload_dir):
    data = ("Абв " * 10_000).encode()

    assert len(stored_text(upload_dir, data, "a.txt", max_chars=100)) <= 100


# --- names and sizes ----------------------------------------------------------------------


def test_safe_download_name_keeps_cyrillic_and_drops_the_dangerous():
    assert safe_download_name('Прайс "2024"/итог.xlsx') == "Прайс 2024_итог.xlsx"
    assert safe_download_name("Отчёт\r\nSet-Cookie: x.pdf") == "Отчёт Set-Cookie_ x.pdf"
    assert safe_download_name("..\\..\\КП.pdf") == "КП.pdf"
    assert safe_download_name("") == "attachment"


def test_safe_download_name_ensures_the_extension_of_the_kind():
    assert safe_download_name("Договор", "pdf") == "Договор.pdf"
    assert safe_download_name("photo.jpeg", "jpeg") == "photo.jpeg"
    long_name = safe_download_name("Я" * 300 + ".docx", "docx")
    assert long_name.endswith("Я.docx") and len(long_name.encode()) <= 200


def test_download_name_works_with_flask_send_file():
    app = Flask(__name__)
    name = safe_download_name("Коммерческое предложение v2.pdf")

    with app.test_request_context():
        response = send_file(io.BytesIO(b"%PDF-"), download_name=name, as_attachment=True)

    disposition = response.headers["Content-Disposition"]
    response.close()
    assert "filename*=UTF-8''%D0%9A%D0%BE" in disposition
    assert disposition.endswith("%20v2.pdf")


def test_allowed_extensions_and_content_types():
    assert set(ALLOWED_EXTENSIONS) == {"pdf", "docx", "xlsx", "pptx", "txt", "png", "jpg", "jpeg"}
    assert kind_for_content_type("text/plain; charset=windows-1251") == "txt"
    assert kind_for_content_type("application/x-msdownload") is None


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (512, "512 B"), (1536, "1.5 KB"), (20 * MB, "20 MB"), (3 * 1024 * MB, "3 GB")],
)
def test_human_size(size, shown):
    assert human_size(size) == shown
