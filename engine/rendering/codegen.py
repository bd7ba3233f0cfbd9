"""Templates compiled with a clock: loops and macros tick, ``~`` is measured.

A loop that prints nothing never hands control back to the renderer, so the only
place a time limit can act is inside the compiled template. Jinja lets an
environment choose its code generator (``Environment.code_generator_class``); this
one changes what Jinja writes for these constructs:

- ``{% for x in items %}`` loops over ``environment.ticking(items)``, which checks the
  render's deadline before each item (a ``for ... if`` filter included);
- a macro, a ``{% call %}`` block and the body of a recursive loop start with
  ``environment.tick()``, so recursion is counted too;
- ``a ~ b ~ c`` measures its parts (``environment.concat_parts``) before joining
  them, so doubling a string in a loop is refused before the join allocates;
- what a ``{% set %}`` block, a macro or a ``{% call %}`` block collects goes into an
  :class:`~rapport.engine.rendering.budget.OutputBuffer`, charged as it grows;
- an ``{% include %}`` or ``{% import %}`` ticks too (a file including itself twice);
- list, tuple and dict literals are measured (``environment.literal``): ``[b, b, b]``
  reaches three times what ``b`` does (see :mod:`~rapport.engine.rendering.reach`);
- nothing but literal text is evaluated at compile time: Jinja would otherwise run
  filters on literal arguments while compiling, outside any budget (the environment
  is also made with ``optimized=False``).

Everything else is Jinja's own code. The hooks are methods of
:class:`rapport.engine.rendering.sandbox.Sandbox`, which reads the render's
:class:`~rapport.engine.rendering.budget.Budget`.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

__all__ = ["BudgetedCodeGenerator"]


def _hook(node: nodes.Node, name: str) -> bool:
    """Whether ``node`` is one of the hooks this generator adds (Jinja allows no new
    node types, and no template can write an ``EnvironmentAttribute``)."""
    return isinstance(node, nodes.EnvironmentAttribute) and node.name == name


class BudgetedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the render's deadline checked in every loop."""

    def buffer(self, frame: Frame) -> None:
        """A block's output is collected in an ``OutputBuffer``, charged as it grows."""
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not (isinstance(node.iter, nodes.Call) and _hook(node.iter.node, "ticking")):
            ticking = nodes.EnvironmentAttribute("ticking", lineno=node.iter.lineno)
            node.iter = nodes.Call(ticking, [node.iter], [], None, None, lineno=node.iter.lineno)
        if node.recursive:
            node.body = _ticked(node.body, node.lineno)
        super().visit_For(node, frame)

    def visit_Macro(self, node: nodes.Macro, frame: Frame) -> None:
        node.body = _ticked(node.body, node.lineno)
        super().visit_Macro(node, frame)

    def visit_CallBlock(self, node: nodes.CallBlock, frame: Frame) -> None:
        node.body = _ticked(node.body, node.lineno)
        super().visit_CallBlock(node, frame)

    def visit_Include(self, node: nodes.Include, frame: Frame) -> None:
        self.writeline("environment.tick()", node)  # a file including itself twice
        super().visit_Include(node, frame)

    def visit_Import(self, node: nodes.Import, frame: Frame) -> None:
        self.writeline("environment.tick()", node)
        super().visit_Import(node, frame)

    def visit_FromImport(self, node: nodes.FromImport, frame: Frame) -> None:
        self.writeline("environment.tick()", node)
        super().visit_FromImport(node, frame)

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.literal(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.literal(")
        super().visit_Dict(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a loop's or a set's targets
            super().visit_Tuple(node, frame)
            return
        self.write("environment.literal(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        """Only literal text is printed at compile time. Jinja would also run any
        filter on literal arguments while compiling (``{{ 'x'|center(262144) }}``),
        outside every render's budget; here it runs when the template does."""
        if not isinstance(node, nodes.TemplateData | nodes.Const):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)

    def visit_Extends(self, node: nodes.Extends, frame: Frame) -> None:
        self.writeline("environment.tick()", node)  # a chain of parents is compiled now
        super().visit_Extends(node, frame)

    def visit_Assign(self, node: nodes.Assign, frame: Frame) -> None:
        """``{% set ns.x = value %}``: the value is measured as it is kept (Jinja's own
        code, with its check that ``ns`` is a namespace, around it)."""
        sets_namespace = isinstance(node.target, nodes.NSRef) or any(
            True for _ in node.target.find_all(nodes.NSRef)
        )
        wrapped = isinstance(node.node, nodes.Call) and _hook(node.node.node, "kept")
        if sets_namespace and not wrapped:
            kept = nodes.EnvironmentAttribute("kept", lineno=node.lineno)
            node.node = nodes.Call(kept, [node.node], [], None, None, lineno=node.lineno)
        super().visit_Assign(node, frame)

    def visit_ExprStmt(self, node: nodes.ExprStmt, frame: Frame) -> None:
        if _hook(node.node, "tick"):
            self.writeline("environment.tick()", node)
        else:
            super().visit_ExprStmt(node, frame)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        if _hook(node.node, "ticking") or _hook(node.node, "kept"):  # direct, no sandbox call
            self.write(f"environment.{node.node.name}(")  # type: ignore[attr-defined]
            self.visit(node.args[0], frame)
            self.write(")")
        else:
            super().visit_Call(node, frame, forward_caller=forward_caller)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"{join}(environment.concat_parts((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


def _ticked(body: list[nodes.Node], lineno: int) -> list[nodes.Node]:
    if body and isinstance(body[0], nodes.ExprStmt) and _hook(body[0].node, "tick"):
        return body
    return [nodes.ExprStmt(nodes.EnvironmentAttribute("tick"), lineno=lineno), *body]
