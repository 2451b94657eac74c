"""The pure core: compare, price and plan. No I/O, no store, no printing.

``diff`` turns a current subscription and a desired one into changes,
``pricing`` prices invoices by the rules of pricing.md, ``permissions`` says
who may make which change, ``planner`` puts them together into an
``AccountPlan``. Later: the twelve-month forecast.

May import the values and ``zplan.load`` (catalog, documents for positions).
Never imports ``apply``, ``state``, ``render``, ``pipeline``, ``cli``, the
network, or click.
"""
