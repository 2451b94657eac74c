"""zplan: subscription-as-code for Zendesk accounts."""

__version__ = "0.1.0"
