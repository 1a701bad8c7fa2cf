"""Small plant files built in code for tests: a fixed golden plant and random valid plants."""

from __future__ import annotations

from dataclasses import dataclass, field

HEADER = """
schema = "smartfactory.plant/1"

[plant]
id = "{plant_id}"
name = {{ en = "Test plant", zh = "测试工厂" }}
industry = "discrete"
timezone = "Asia/Shanghai"

[enterprise]
id = "ent"
name = {{ en = "Enterprise", zh = "企业" }}

[[site]]
id = "site"
parent = "ent"
name = {{ en = "Site", zh = "工厂" }}

[[area]]
id = "area"
parent = "site"
name = {{ en = "Area", zh = "车间" }}

[[line]]
id = "L"
parent = "area"
name = {{ en = "Line", zh = "产线" }}
calendar = "cal"
"""

REASONS = """
[[reason]]
code = "P"
name = { en = "Planned", zh = "计划停机" }
kind = "planned"

[[reason]]
code = "P.NOSHIFT"
parent = "P"
name = { en = "No shift", zh = "非排班" }
role = "no_shift"

[[reason]]
code = "P.BREAK"
parent = "P"
name = { en = "Break", zh = "休息" }
role = "break"

[[reason]]
code = "P.TOOL"
parent = "P"
name = { en = "Tool change", zh = "换刀" }
role = "tool_change"

[[reason]]
code = "U"
name = { en = "Unplanned", zh = "非计划停机" }
kind = "unplanned"

[[reason]]
code = "U.FAIL"
parent = "U"
name = { en = "Failure", zh = "故障" }

[[reason]]
code = "U.MINOR"
parent = "U"
name = { en = "Minor stop", zh = "短停" }
role = "micro_stop"
"""


@dataclass
class MachineSpec:
    """One machine of a generated plant."""

    cycle_s: float
    setup_s: float = 0.0
    cycle_cv: float = 0.0
    weibull_scale_h: float | None = None
    micro_stops_per_h: float = 0.0
    base_logit: float | None = None
    tool_life_cycles: int | None = None


@dataclass
class PlantSpec:
    """A single-line plant: cells of parallel machines, buffers, a calendar and one order."""

    cells: list[list[MachineSpec]]
    buffers: list[int]
    shifts: list[tuple[str, str]] = field(default_factory=lambda: [("08:00", "16:00")])
    breaks: list[tuple[str, int]] = field(default_factory=list)
    quantity: int = 100
    products: int = 1

    def toml(self) -> str:
        """The plant file text."""
        out = [HEADER.format(plant_id="test-plant")]
        for k, _cell in enumerate(self.cells):
            out.append(
                f'\n[[work_cell]]\nid = "C{k + 1}"\nparent = "L"\n'
                f'name = {{ en = "Cell {k + 1}", zh = "工位 {k + 1}" }}\n'
                f"buffer_capacity = {self.buffers[k]}\n"
            )
        for k, cell in enumerate(self.cells):
            for j, m in enumerate(cell):
                out.append(
                    f'\n[[equipment]]\nid = "M{k + 1}{chr(65 + j)}"\nparent = "C{k + 1}"\n'
                    f'name = {{ en = "Machine {k + 1}{chr(65 + j)}", zh = "设备 {k + 1}{chr(65 + j)}" }}\n'
                    f'kind = "cnc_machining_centre"\nkey = true\ncycle_cv = {m.cycle_cv}\n'
                    '\n[[equipment.signal]]\nname = "temp"\nunit = "°C"\nnormal = [10.0, 60.0]\n'
                    "sampling_s = 300\nlevels = { running = 40.0, idle = 25.0 }\nnoise_sd = 0.5\nwear_gain = 30.0\n"
                    '\n[equipment.energy]\nmeter = "EM"\nsampling_s = 900\n'
                    "power_kw = { running = 10.0, idle = 2.0, down = 0.5, off = 0.1 }\n"
                )
                if m.weibull_scale_h is not None or m.micro_stops_per_h:
                    out.append(
                        "\n[equipment.reliability]\nweibull_shape = 1.5\n"
                        f"weibull_scale_h = {m.weibull_scale_h or 1e6}\n"
                        "repair_median_min = 20\nrepair_sigma = 0.5\n"
                        f"micro_stops_per_h = {m.micro_stops_per_h}\nmicro_stop_mean_s = 40\n"
                        'modes = [ { reason = "U.FAIL", weight = 1.0 } ]\n'
                    )
                if m.base_logit is not None:
                    tool = (
                        f"tool_life_cycles = {m.tool_life_cycles}\ntool_change_s = 120\n"
                        if m.tool_life_cycles
                        else ""
                    )
                    out.append(
                        f"\n[equipment.quality]\nbase_logit = {m.base_logit}\nwear_coef = 1.0\n"
                        f"rework_share = 0.4\nescape_share = 0.2\ndetects_escaped = {str(k == len(self.cells) - 1).lower()}\n"
                        + tool
                    )
        shifts = ", ".join(
            f'{{ id = "S{i}", name = {{ en = "Shift {i}", zh = "班次 {i}" }}, start = "{a}", end = "{b}" }}'
            for i, (a, b) in enumerate(self.shifts)
        )
        breaks = ", ".join(f'{{ start = "{a}", minutes = {m} }}' for a, m in self.breaks)
        out.append(
            '\n[[calendar]]\nid = "cal"\nname = { en = "Calendar", zh = "日历" }\n'
            'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
            f"shifts = [{shifts}]\nbreaks = [{breaks}]\n"
        )
        out.append(REASONS)
        for p in range(self.products):
            out.append(f'\n[[product]]\nid = "P{p}"\nname = {{ en = "Product {p}", zh = "产品 {p}" }}\n')
            steps = ", ".join(
                f'{{ work_cell = "C{k + 1}", cycle_s = {cell[0].cycle_s}, setup_s = {cell[0].setup_s} }}'
                for k, cell in enumerate(self.cells)
            )
            out.append(f'\n[[routing]]\nproduct = "P{p}"\nline = "L"\nsteps = [{steps}]\n')
        per_product = max(1, self.quantity // self.products)
        for p in range(self.products):
            out.append(
                f'\n[[order]]\nid = "O{p}"\nproduct = "P{p}"\nquantity = {per_product}\n'
                "due = 2026-03-05T00:00:00\n"
            )
        return "".join(out)
