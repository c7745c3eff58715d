#!/usr/bin/env python3
"""Generate the seed catalogue and stock of the Beijing sample network.

Writes data/catalogue/skus.csv and data/catalogue/stock.csv. Deterministic:
the same --seed always yields byte-identical files (Python's random.Random
with an integer seed is stable across versions). Standard library only.

    python3 scripts/gen_catalogue.py [--seed 20240601] [--out data/catalogue]
"""
import argparse
import csv
import os
import random

# category, velocity weights (A fast, B medium, C slow), large item, installable,
# [(product, weight_kg range, volume_l range, price range)], variants
CATEGORIES = [
    ("phones", (6, 3, 1), False, False,
     [("Smartphone 6.1in", (0.17, 0.23), (0.6, 1.0), (1299, 6999)),
      ("Smartphone 6.7in", (0.19, 0.25), (0.7, 1.1), (1999, 8999)),
      ("Feature phone", (0.08, 0.12), (0.3, 0.5), (99, 399))],
     ["64GB", "128GB", "256GB", "512GB"]),
    ("accessories", (7, 2, 1), False, False,
     [("USB-C cable 1m", (0.03, 0.06), (0.1, 0.2), (19, 69)),
      ("Fast charger 65W", (0.10, 0.18), (0.2, 0.4), (59, 199)),
      ("Power bank 10000mAh", (0.20, 0.30), (0.3, 0.5), (79, 249)),
      ("Wireless earbuds", (0.05, 0.09), (0.2, 0.4), (99, 1299)),
      ("Phone case", (0.03, 0.05), (0.1, 0.2), (19, 99))],
     ["black", "white", "blue", "grey"]),
    ("computers", (2, 4, 2), False, False,
     [("Laptop 14in", (1.2, 1.6), (4.0, 6.0), (3999, 9999)),
      ("Laptop 16in", (1.8, 2.4), (6.0, 8.0), (5999, 14999)),
      ("Monitor 27in", (4.5, 6.5), (35.0, 50.0), (999, 3999)),
      ("Mechanical keyboard", (0.8, 1.2), (2.5, 4.0), (199, 899))],
     ["basic", "pro", "max"]),
    ("grocery", (8, 2, 0), False, False,
     [("Mineral water 24x550ml", (13.5, 14.0), (16.0, 18.0), (29, 49)),
      ("Instant noodles 5-pack", (0.5, 0.6), (2.5, 3.0), (12, 25)),
      ("Rice 5kg", (5.0, 5.1), (6.0, 7.0), (39, 89)),
      ("Milk 12x250ml", (3.1, 3.3), (4.0, 4.5), (45, 79)),
      ("Coffee beans 1kg", (1.0, 1.05), (2.5, 3.0), (79, 199))],
     ["brand A", "brand B", "brand C"]),
    ("personal_care", (6, 3, 1), False, False,
     [("Shampoo 750ml", (0.8, 0.9), (0.9, 1.1), (39, 119)),
      ("Toothpaste 3-pack", (0.4, 0.5), (0.5, 0.7), (19, 59)),
      ("Electric toothbrush", (0.3, 0.5), (0.8, 1.2), (99, 699)),
      ("Face cream 50ml", (0.12, 0.2), (0.2, 0.3), (99, 899))],
     ["regular", "sensitive", "travel"]),
    ("baby", (5, 3, 1), False, False,
     [("Diapers M 90ct", (2.4, 2.7), (14.0, 18.0), (89, 199)),
      ("Infant formula 800g", (1.0, 1.1), (2.0, 2.5), (199, 429)),
      ("Baby wipes 6x80", (2.6, 3.0), (5.0, 6.0), (39, 89))],
     ["stage 1", "stage 2", "stage 3"]),
    ("books", (2, 4, 4), False, False,
     [("Novel paperback", (0.3, 0.6), (0.6, 1.0), (25, 69)),
      ("Cookbook hardcover", (0.9, 1.4), (1.5, 2.2), (59, 149)),
      ("Children's picture book", (0.3, 0.5), (0.6, 1.0), (19, 59))],
     ["vol 1", "vol 2", "vol 3"]),
    ("home", (3, 4, 3), False, False,
     [("Bath towel set", (0.8, 1.2), (3.0, 5.0), (59, 199)),
      ("Non-stick pan 28cm", (1.1, 1.6), (4.0, 6.0), (99, 399)),
      ("LED desk lamp", (0.6, 1.0), (3.0, 5.0), (79, 299)),
      ("Storage box 30L", (1.0, 1.4), (30.0, 34.0), (29, 89))],
     ["S", "M", "L"]),
    ("small_appliances", (3, 4, 3), False, False,
     [("Rice cooker 4L", (3.0, 4.0), (12.0, 16.0), (199, 999)),
      ("Air fryer 5L", (4.0, 5.5), (20.0, 28.0), (299, 899)),
      ("Kettle 1.7L", (1.0, 1.4), (4.0, 6.0), (79, 299)),
      ("Robot vacuum", (3.5, 4.5), (18.0, 24.0), (999, 3999)),
      ("Hair dryer", (0.5, 0.8), (2.5, 4.0), (99, 1299))],
     ["basic", "plus", "pro"]),
    ("large_appliances", (1, 3, 6), True, True,
     [("Refrigerator 450L", (70.0, 95.0), (700.0, 900.0), (2999, 12999)),
      ("Washing machine 10kg", (60.0, 75.0), (350.0, 450.0), (1999, 6999)),
      ("Air conditioner 1.5HP", (35.0, 45.0), (250.0, 350.0), (2499, 6999)),
      ("Dishwasher 13 sets", (45.0, 55.0), (250.0, 320.0), (2999, 7999)),
      ("Water heater 60L", (25.0, 32.0), (120.0, 160.0), (999, 3999)),
      ("Television 65in", (22.0, 30.0), (180.0, 260.0), (2999, 15999))],
     ["model S", "model M", "model L"]),
]

WAREHOUSES = [
    # id, kind, share of A / B / C present, large items held (count), stock scale
    ("bj-rdc-01", "regional"),
    ("bj-fdc-01", "front"),  # Chaoyang 110105
    ("bj-fdc-02", "front"),  # Haidian 110108
    ("bj-fdc-03", "front"),  # Tongzhou 110112
]


def build_skus(rng):
    skus = []
    n = 0
    for cat, vel_w, large, install, products, variants in CATEGORIES:
        for name, (w0, w1), (v0, v1), (p0, p1) in products:
            for variant in variants:
                for edition in range(2):
                    n += 1
                    velocity = rng.choices("ABC", weights=vel_w)[0]
                    label = f"{name} {variant}" + (" (2024)" if edition else "")
                    weight = round(rng.uniform(w0, w1), 3)
                    volume = round(rng.uniform(v0, v1), 2)
                    price = round(rng.uniform(p0, p1)) - 0.01
                    skus.append({
                        "sku": f"SKU-{n:05d}", "name": label, "category": cat,
                        "weight_kg": f"{weight:.3f}", "volume_l": f"{volume:.2f}",
                        "large_item": int(large), "installable": int(install),
                        "price_cny": f"{price:.2f}", "velocity": velocity,
                    })
    return skus


def on_hand(rng, velocity, large, front):
    if front:
        lo, hi = {"A": (30, 300), "B": (10, 80), "C": (2, 20)}[velocity]
    else:
        lo, hi = {"A": (300, 3000), "B": (60, 600), "C": (5, 120)}[velocity]
    if large:
        lo, hi = (2, 12) if front else (20, 200)
    return rng.randint(lo, hi)


def build_stock(rng, skus):
    rows = []
    for wid, kind in WAREHOUSES:
        front = kind == "front"
        large_left = 3 if front else 0  # a few showroom appliances per front centre
        for s in skus:
            large = s["large_item"] == 1
            if not front:
                held = rng.random() < 0.97  # the RDC holds nearly everything
            elif large:
                held = large_left > 0 and s["velocity"] == "A" and rng.random() < 0.5
                large_left -= int(held)
            else:
                held = rng.random() < {"A": 0.9, "B": 0.2, "C": 0.0}[s["velocity"]]
            if held:
                rows.append({"warehouse_id": wid, "sku": s["sku"],
                             "on_hand": on_hand(rng, s["velocity"], large, front)})
    return rows


def write_csv(path, fields, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "catalogue"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    skus = build_skus(rng)
    stock = build_stock(rng, skus)
    os.makedirs(args.out, exist_ok=True)
    write_csv(os.path.join(args.out, "skus.csv"), list(skus[0].keys()), skus)
    write_csv(os.path.join(args.out, "stock.csv"), ["warehouse_id", "sku", "on_hand"], stock)
    print(f"skus={len(skus)} stock_rows={len(stock)}")


if __name__ == "__main__":
    main()
