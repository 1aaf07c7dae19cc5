"""The returns API and workflow: after-sales that also change orders and the stock books."""

from ocp.settings.order_path import DecisionSettings, DispatchSenderSettings
from ocp.settings.returns import ReturnsSettings
from ocp.settings.stock import StockSettings


class ReturnsBooksSettings(ReturnsSettings, StockSettings, DecisionSettings):
    """The returns API and workflow: they also change orders and the stock books."""


class ReturnsWorkflowSettings(ReturnsBooksSettings, DispatchSenderSettings):
    event_bus_name: str
    finance_topic_arn: str
