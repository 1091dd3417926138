"""FAKE of MicroPython's ``bluetooth`` module (only ``UUID``), for running main.py on the Unix port."""


class UUID:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)
