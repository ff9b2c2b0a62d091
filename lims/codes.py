"""Record codes: what people type, scan and print, handed out under a locked counter."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from lims.models import CodeSequence, Record, Tombstone


def code_suffix(code: str) -> str:
    """``LLZO-0007`` → ``0007``: the part a child's code carries on (``PEL-0007-03``)."""
    return code.split("-", 1)[1] if "-" in code else code


def code_allocate(*, model: type[Record], parent_code: str | None = None) -> str:
    """Next free code for ``model``: ``CELL-0031``, or ``PEL-0007-03`` under ``LLZO-0007``.

    The counter row is locked for the rest of the transaction, so two operators creating
    records at the same moment never get the same number.
    """
    if parent_code:
        base, digits = f"{model.code_prefix}-{code_suffix(parent_code)}", 2
    else:
        base, digits = model.code_prefix, model.code_digits
    CodeSequence.objects.get_or_create(prefix=base)
    sequence = CodeSequence.objects.select_for_update().get(prefix=base)
    while True:
        sequence.last_value += 1
        code = f"{base}-{sequence.last_value:0{digits}d}"
        # A code typed in by hand may already hold this number: skip past it.
        if not code_taken(code):
            break
    sequence.save(update_fields=["last_value"])
    return code


def code_taken(code: str) -> bool:
    """Whether ``code`` names a record, or once did: a deleted record's code is never reused."""
    return Record.objects.filter(code=code).exists() or Tombstone.objects.filter(code=code).exists()


def code_format_problem(*, model: type[Record], code: str) -> str | None:
    """What is wrong with the form of a typed-in code (the API's schema states the same rule as
    the pattern ``^PREFIX-\\S+$``), or None."""
    prefix = f"{model.code_prefix}-"
    if any(ch.isspace() for ch in code):
        return "A code has no spaces."
    if not code.startswith(prefix):
        return f"A {model._meta.verbose_name} code starts with {prefix}: {code!r} does not."
    if code == prefix:
        return f"A {model._meta.verbose_name} code goes on after {prefix}"
    return None


def code_check_typed(*, model: type[Record], code: str) -> None:
    """Refuse a typed-in code of the wrong kind (a lot cannot be ``CELL-0001``) or one that a
    deleted record had: a code printed on a label must never name a second thing."""
    problem = code_format_problem(model=model, code=code)
    if problem:
        raise ValidationError({"code": problem})
    retired = Tombstone.objects.filter(code=code).first()
    if retired is not None:
        raise ValidationError(
            {
                "code": f"{code} belonged to a {retired.kind} deleted on "
                f"{retired.deleted_at:%Y-%m-%d}; a code is never reused."
            }
        )
