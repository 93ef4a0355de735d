"""Python source as data: the code a response holds, its syntax tree, its node-type
sequence and a normalised form for equality.

* :func:`extract_code`: the first fenced block (```` ```python ... ``` ````, or any
  fence) of a chat response, else the whole text.
* :func:`node_types`: the pre-order sequence of ``ast`` node-type names (``FunctionDef
  arguments arg Return BinOp ...``) of parseable code, None when it does not parse.
  N-grams of these sequences are the syntactic diversity of code, the analogue of
  part-of-speech n-grams for prose (Shaib et al. 2024 use POS sequences; node types play
  the part of tags).
* :func:`normalised_ast`: ``ast.dump`` of the tree with docstrings removed and every
  name the code binds (function names, arguments, assigned and loop variables) renamed
  ``v0, v1, ...`` in order of first appearance; names it only reads (builtins, imports'
  attributes) are kept. Two programs that differ only in identifiers, comments,
  formatting or docstrings get the same string.

Unparseable code is never dropped silently: the callers count and report it.
"""

from __future__ import annotations

import ast
import re
import warnings

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(text: str) -> str:
    """The first ``python`` (or unlabelled) fenced block of ``text``, else ``text``."""
    blocks = _FENCE.findall(text)
    for language, body in blocks:
        if language.lower() in ("python", "py", "python3", ""):
            return body.strip("\n")
    return blocks[0][1].strip("\n") if blocks else text.strip("\n")


def parse(code: str) -> ast.Module | None:
    """The module tree of ``code``, or None when it is not valid Python."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in model output
            return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def node_types(code: str) -> list[str] | None:
    """Pre-order ``ast`` node-type names of ``code`` (contexts such as ``Load`` left out);
    None when the code does not parse."""
    tree = parse(code)
    if tree is None:
        return None
    return [type(node).__name__ for node in _preorder(tree) if not _is_context(node)]


def _preorder(node: ast.AST) -> list[ast.AST]:
    out = [node]
    for child in ast.iter_child_nodes(node):
        out.extend(_preorder(child))
    return out


def _is_context(node: ast.AST) -> bool:
    return isinstance(node, ast.expr_context)


def normalised_ast(code: str) -> str | None:
    """``code``'s tree with docstrings removed and bound names renamed in order of first
    appearance, as a string; None when the code does not parse."""
    tree = parse(code)
    if tree is None:
        return None
    _strip_docstrings(tree)
    names: dict[str, str] = {}
    for node in _preorder(tree):
        for name in _bound(node):
            names.setdefault(name, f"v{len(names)}")
    _Renamer(names).visit(tree)
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _strip_docstrings(tree: ast.AST) -> None:
    for node in _preorder(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]


def _bound(node: ast.AST) -> list[str]:
    """The names ``node`` binds."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
        return [node.id]
    return []


class _Renamer(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.names.get(node.arg, node.arg)
        node.annotation = None
        return node

    def _rename_def(self, node: ast.AST) -> ast.AST:
        node.name = self.names.get(node.name, node.name)  # type: ignore[attr-defined]
        self.generic_visit(node)
        return node

    visit_FunctionDef = _rename_def
    visit_AsyncFunctionDef = _rename_def
    visit_ClassDef = _rename_def
