"""Where returned goods go: a warehouse's return address, and the one a channel is told (pure data). A leaf: the
warehouses registry stores the address without loading the after-sale models."""

from pydantic import Field

from ocp.base_model import FrozenModel


class ReturnAddress(FrozenModel):
    """Where returned goods go: the receiving warehouse's address, and the channel's own id for it when the channel
    wants a registered address (Douyin receiver_address_id, Taobao seller_address_id)."""

    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    channel_address_id: str | None = None


class WarehouseReturnAddress(FrozenModel):
    """A warehouse's address for returned goods (`PUT /warehouses/{id}` `return_address`), with the id each channel
    registered it under where the channel wants a registered address (Douyin `receiver_address_id`, Taobao
    `seller_address_id`)."""

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40)
    province: str = Field(min_length=1, max_length=40)
    city: str = Field(min_length=1, max_length=40)
    district: str = Field(default="", max_length=40)
    detail: str = Field(min_length=1, max_length=200)
    channel_address_ids: dict[str, str] = Field(default_factory=dict, description="channel → its address id")

    def for_channel(self, channel: str) -> ReturnAddress:
        return ReturnAddress(name=self.name, phone=self.phone, province=self.province, city=self.city,
                             district=self.district, detail=self.detail,
                             channel_address_id=self.channel_address_ids.get(channel))
