"""Every English message a person can see has a Simplified Chinese translation, and every page has a title."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import jinja2
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "web" / "templates"
LOCALE = ROOT / "web" / "locale"
DOMAIN_ERRORS = {"DomainError", "Invalid", "NotAuthenticated", "Forbidden", "NotFound", "Conflict", "TooManyAttempts"}
# Where use cases and the edges raise domain errors whose messages reach a page or a problem response.
RAISING_SOURCES = ("api/services", "api/auth.py", "api/errors.py", "api/routes", "web")


def catalogue(locale: str):
    """The merged .po catalogues of a locale, as the app reads them (messages.po plus one per product area)."""
    from api.i18n import merged_catalog

    return merged_catalog(locale)


def _wanted_directory(path: str) -> bool:
    # As `pybabel extract --ignore-dirs ".* __pycache__"`: babel's default would skip templates/_partials too.
    name = Path(path).name
    return not (name.startswith(".") or name == "__pycache__")


@functools.cache
def _extracted() -> tuple[tuple[str | tuple[str, ...], str], ...]:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return tuple(
        (message, f"{filename}:{lineno}")
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, directory_filter=_wanted_directory
        )
    )


def extracted_msgids() -> dict[str, str]:
    """msgid → where, for every message babel extracts with babel.cfg (templates and `_()` calls)."""
    found: dict[str, str] = {}
    for message, where in _extracted():
        if isinstance(message, str):
            found.setdefault(message, where)
    return found


def extracted_plurals() -> dict[tuple[str, str], str]:
    """(singular, plural) → where, for every `ngettext` message babel extracts."""
    found: dict[tuple[str, str], str] = {}
    for message, where in _extracted():
        if isinstance(message, tuple):
            singular, plural = message[:2]
            found.setdefault((str(singular), str(plural)), where)
    return found


def _strings(node: ast.AST | None) -> list[str]:
    return [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else []


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _module_strings(tree: ast.AST) -> dict[str, str]:
    """NAME = "…" at a module's top level: a refusal named once and given to several `*_or_refuse` calls."""
    body = tree.body if isinstance(tree, ast.Module) else []
    return {
        target.id: statement.value.value
        for statement in body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }


def domain_error_messages(tree: ast.AST) -> list[str]:
    """Messages given to domain errors: the detail, the `fields` values, and messages built for `fields`."""
    found: list[str] = []
    constants = _module_strings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in DOMAIN_ERRORS:
            if node.args:
                found += _strings(node.args[0])
            for keyword in node.keywords:
                if keyword.arg == "fields" and isinstance(keyword.value, ast.Dict):
                    for value in keyword.value.values:
                        found += _strings(value)
        # found(row, "No such …") raises NotFound; who.X_or_refuse("Only …") raises Forbidden.
        if isinstance(node, ast.Call) and _call_name(node) == "found" and len(node.args) == 2:
            found += _strings(node.args[1])
        if isinstance(node, ast.Call) and _call_name(node).endswith("_or_refuse") and node.args:
            refusal = node.args[0]
            found += [constants[refusal.id]] if isinstance(refusal, ast.Name) and refusal.id in constants else []
            found += _strings(refusal)
        # errors["field"] = "message": a use case collecting field errors before raising Invalid(fields=errors).
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "errors"
            for t in node.targets
        ):
            found += _strings(node.value)
        # def error_of(code) -> str | None (credit codes): each returned string is a field message.
        if isinstance(node, ast.FunctionDef) and "error" in node.name:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return):
                    found += _strings(inner.value)
        # class Invalid(DomainError): title = "…" is the problem's title.
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "title" for t in statement.targets
                ):
                    found += _strings(statement.value)
    return found


def error_page_messages(tree: ast.AST) -> list[str]:
    """api/errors.py: the HTTP titles and the details it passes to _problem."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_HTTP_KINDS" for t in node.targets
        ):
            assert isinstance(node.value, ast.Dict)
            for value in node.value.values:
                assert isinstance(value, ast.Tuple)
                found += _strings(value.elts[1])
        if isinstance(node, ast.Call) and _call_name(node) == "_problem":
            for arg in node.args[3:5]:
                found += _strings(arg)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "detail" for t in node.targets):
            found += _strings(node.value)
        # _HTTP_KINDS.get(status, ("error", "Error")): the fallback title.
        if isinstance(node, ast.Call) and _call_name(node) == "get" and len(node.args) == 2:
            found += _strings(node.args[1].elts[1]) if isinstance(node.args[1], ast.Tuple) else []
    return found


# Read once per process: three tests ask, and the sources do not change during a run.
@functools.cache
def python_msgids() -> dict[str, str]:
    """msgid → where, for the messages in Python that reach people without a `_()` at the call site."""
    found: dict[str, str] = {}
    paths: list[Path] = []
    for source in RAISING_SOURCES:
        target = ROOT / source
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        messages = domain_error_messages(tree)
        if path.name == "errors.py" and path.parent.name == "api":
            messages += error_page_messages(tree)
        for message in messages:
            found.setdefault(message, str(path.relative_to(ROOT)))
    return found


def all_msgids() -> dict[str, str]:
    """Every message the pages and problem responses may show."""
    return {**python_msgids(), **extracted_msgids()}


def test_the_scan_finds_the_messages_it_should():
    found = all_msgids()
    assert found["Wrong username or password"].startswith("api/services")
    assert "Log in to continue" in found
    assert found["No such recurring shift"].startswith("api/services")  # given to found(row, …)
    assert found["Only volunteers have a volunteer profile"].startswith("api/services")  # a named refusal
    assert found["Only a social organisation may submit proposals"].startswith("api/services")
    assert "The check character of this unified social credit code is wrong" in found
    assert "This username is taken" in found
    assert "Not found" in found
    assert "Please correct the fields marked below." in found  # in templates/_partials
    assert "First aid" in found
    assert "This field is required" in found
    assert len(found) > 200


def test_every_message_has_a_chinese_translation():
    zh = catalogue("zh_CN")
    missing = [
        f"{where}: {msgid!r}"
        for msgid, where in sorted(all_msgids().items(), key=lambda kv: kv[1])
        if not (message := zh.get(msgid)) or not message.string or message.fuzzy
    ]
    assert missing == []


def test_every_plural_message_has_its_one_chinese_form():
    # Chinese has one plural form: the catalogue holds msgid, msgid_plural and a single msgstr[0] for each.
    zh = catalogue("zh_CN")
    assert zh.num_plurals == 1
    problems = []
    for (singular, plural), where in sorted(extracted_plurals().items(), key=lambda kv: kv[1]):
        message = zh.get(singular)
        if message is None or message.id != (singular, plural):
            problems.append(f"{where}: {singular!r} has no plural entry with msgid_plural {plural!r}")
        elif isinstance(message.string, str) or not message.string[0] or message.fuzzy:
            problems.append(f"{where}: {singular!r} has no msgstr[0]")
    assert problems == []
    assert len(extracted_plurals()) > 50


# A count put into a message without ngettext: a placeholder followed, within three words, by a plural noun
# ("%(n)s people", "%(a)s of %(n)s lots awarded", "%(n)s confirmed volunteer services"), or an "(s)" cheat.
_AFTER_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]((?: [a-z][a-z'-]*){1,3})")
_NOT_PLURALS = frozenset({"its", "has", "was", "this", "starts", "does", "plus", "less", "across"})


def counted_without_ngettext(message: str) -> str | None:
    """The words of a singular-only message that read as a count of something, if any."""
    if re.search(r"[a-z]\(s\)", message):
        return "(s)"
    for match in _AFTER_PLACEHOLDER.finditer(message):
        for word in match.group(1).split():
            word = word.rstrip("'")
            if word == "people" or (len(word) > 2 and word.endswith("s") and word not in _NOT_PLURALS):
                return match.group(0)
    return None


def test_the_count_check_sees_the_old_messages_and_lets_others_pass():
    assert counted_without_ngettext("%(n)s people") == "%(n)s people"
    assert counted_without_ngettext("%(a)s of %(n)s lots awarded")
    assert counted_without_ngettext("has served %(n)s confirmed volunteer services, %(hours)s in total")
    assert counted_without_ngettext("%(n)s residents' committees")
    assert counted_without_ngettext("You have %(n)s new roster proposal(s)") == "(s)"
    assert counted_without_ngettext("Reminder: your shift %(title)s starts tomorrow, %(time)s") is None
    assert counted_without_ngettext("Score %(s)s (price %(p)s + quality %(q)s)") is None
    assert counted_without_ngettext("Page %(n)s of %(total)s") is None


def test_counts_in_messages_go_through_ngettext():
    found = [f"{where}: {m!r}" for m, where in all_msgids().items() if counted_without_ngettext(m)]
    assert found == []


def test_translations_keep_the_placeholders():
    zh = catalogue("zh_CN")
    problems = []
    for message in zh:
        if message.id and message.string:
            try:
                python_format(zh, message)
            except Exception as exc:
                problems.append(f"{message.id!r}: {exc}")
    assert problems == []


def test_known_translations():
    zh = catalogue("zh_CN")
    assert zh.get("Wrong username or password").string == "用户名或密码错误"
    assert zh.get("Log in to continue").string == "请先登录"
    assert zh.get("Unified social credit code").string == "统一社会信用代码"
    assert zh.get("Residents' committee").string == "居委会"
    assert zh.get("Social organisation evaluation rating").string == "社会组织评估等级"


def test_english_catalogue_exists_and_reads():
    en = catalogue("en")
    assert en.locale is not None and str(en.locale) == "en"


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html"))


def _is_partial(path: Path) -> bool:
    return any(part.startswith("_") for part in path.relative_to(TEMPLATES).parts)


def test_every_page_template_defines_a_title():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.i18n"], autoescape=True)
    without = []
    for path in _templates():
        tree = env.parse(path.read_text(encoding="utf-8"))
        if _is_partial(path):
            continue
        if not any(block.name == "title" for block in tree.find_all(nodes.Block)):
            without.append(str(path.relative_to(TEMPLATES)))
    assert without == []
    assert len(_templates()) > 15
