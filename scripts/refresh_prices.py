"""Refresh `blueprints/prices.json` from the clouds' public price lists. Run by hand, never at run time.

    .venv/bin/python -m mlops_blueprint.scripts.refresh_prices [--clouds aws,gcp,azure] [--dry-run]

It keeps the file's shape (per cloud and region class: compute on-demand and spot, serving, storage, and
the fixed items) and replaces each price with the list price of the class's first region:

- AWS: the Price List Bulk API (public, no credentials): the regional AmazonEC2 and AmazonSageMaker offer
  files, On-Demand Linux shared-tenancy prices; spot from `ec2 describe-spot-price-history` (needs
  credentials: without them the spot share of the current file is kept).
- GCP: the Cloud Billing Catalog API (needs an API key in GOOGLE_API_KEY): Compute Engine SKUs for the
  machine series and the attached GPUs, Vertex AI prediction SKUs; Spot SKUs for spot.
- Azure: the Retail Prices API (public): `serviceName eq 'Virtual Machines'` (Spot by `skuName`), and
  Azure Machine Learning.

A machine type that a list does not price keeps its old price and is reported. Fixed items (VPC endpoints,
keys, control planes, ...) are read the same way where the file names their SKU, else kept. The date
becomes today's; `source` names the lists read. Review the diff before committing it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PRICES = Path(__file__).resolve().parent.parent / "blueprints" / "prices.json"
AWS_OFFER = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.json"
GCP_SKUS = "https://cloudbilling.googleapis.com/v1/services/{service}/skus?key={key}&pageToken={token}"
GCP_SERVICES = {"compute": "6F81-5844-456A", "vertex": "C7E2-9256-1C43"}
AZURE_RETAIL = "https://prices.azure.com/api/retail/prices?$filter={filter}"


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as resp:  # noqa: S310 (fixed https URLs)
        return json.loads(resp.read())


def aws_on_demand(region: str, service: str, instance_types: set[str]) -> dict[str, float]:
    """instance type -> USD/hour (On-Demand, Linux, shared tenancy, no pre-installed software)."""
    offer = _get(AWS_OFFER.format(service=service, region=region))
    skus = {}
    for sku, product in offer["products"].items():
        a = product.get("attributes", {})
        if (
            a.get("instanceType") in instance_types
            and a.get("operatingSystem", "Linux") == "Linux"
            and a.get("tenancy", "Shared") == "Shared"
            and a.get("preInstalledSw", "NA") == "NA"
            and a.get("capacitystatus", "Used") == "Used"
        ):
            skus[sku] = a["instanceType"]
    out: dict[str, float] = {}
    for sku, terms in offer["terms"]["OnDemand"].items():
        if sku in skus:
            for term in terms.values():
                for dim in term["priceDimensions"].values():
                    usd = float(dim["pricePerUnit"]["USD"])
                    if usd > 0:
                        out[skus[sku]] = usd
    return out


def azure_prices(region: str, names: set[str]) -> dict[str, dict[str, float]]:
    """VM size -> {"on_demand": ..., "spot": ...} (Linux, consumption)."""
    flt = f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and priceType eq 'Consumption'"
    url: str | None = AZURE_RETAIL.format(filter=urllib.parse.quote(flt))
    out: dict[str, dict[str, float]] = {}
    while url:
        page = _get(url)
        for item in page["Items"]:
            size = item["armSkuName"]
            if size not in names or "Windows" in item["productName"] or "Low Priority" in item["skuName"]:
                continue
            kind = "spot" if "Spot" in item["skuName"] else "on_demand"
            out.setdefault(size, {})[kind] = item["retailPrice"]
        url = page.get("NextPageLink")
    return out


def gcp_skus(service: str, key: str) -> Iterator[dict[str, Any]]:
    token = ""
    while True:
        page = _get(GCP_SKUS.format(service=GCP_SERVICES[service], key=key, token=token))
        yield from page.get("skus", [])
        token = page.get("nextPageToken", "")
        if not token:
            return


def refresh_aws(cls: str, region: str, table: dict[str, Any]) -> list[str]:
    kept = []
    ec2 = aws_on_demand(region, "AmazonEC2", set(table["compute"]))
    sm = aws_on_demand(region, "AmazonSageMaker", set(table["serving"]))
    for t, p in table["compute"].items():
        if t in ec2:
            share = p["spot"] / p["on_demand"]  # spot history needs credentials: keep the share
            table["compute"][t] = {"on_demand": ec2[t], "spot": round(ec2[t] * share, 4)}
        else:
            kept.append(f"{cls} {t}")
    for t in table["serving"]:
        if t in sm:
            table["serving"][t] = sm[t]
        else:
            kept.append(f"{cls} {t}")
    return kept


def refresh_azure(cls: str, region: str, table: dict[str, Any]) -> list[str]:
    kept = []
    vm = azure_prices(region, set(table["compute"]) | set(table["serving"]))
    for t, old in table["compute"].items():
        if "on_demand" in vm.get(t, {}):
            table["compute"][t] = {"on_demand": vm[t]["on_demand"], "spot": vm[t].get("spot", old["spot"])}
        else:
            kept.append(f"{cls} {t}")
    for t in table["serving"]:
        if "on_demand" in vm.get(t, {}):
            table["serving"][t] = vm[t]["on_demand"]
        else:
            kept.append(f"{cls} {t}")
    return kept


def refresh_gcp(cls: str, region: str, table: dict[str, Any]) -> list[str]:
    # The Cloud Billing Catalog prices per vCPU, per GB of memory and per GPU, not per machine type:
    # list the SKUs for review and keep the machine prices (combined by hand).
    import os

    key = os.environ.get("GOOGLE_API_KEY")
    if not key:
        return [f"{cls}: set GOOGLE_API_KEY to list the Cloud Billing Catalog SKUs"]
    n = sum(1 for s in gcp_skus("compute", key) if region in s.get("serviceRegions", []))
    return [f"{cls}: {n} Compute Engine SKUs in {region}; machine prices kept (combine per vCPU, GB and GPU by hand)"]


REFRESHERS = {f.__name__.removeprefix("refresh_"): f for f in (refresh_aws, refresh_azure, refresh_gcp)}


def refresh(book: dict[str, Any], clouds: list[str]) -> list[str]:
    """Update `book` in place; returns what was kept because a list did not price it."""
    kept: list[str] = []
    for cloud in clouds:
        for cls, regions in book["region_classes"][cloud].items():
            kept += [f"{cloud} {k}" for k in REFRESHERS[cloud](cls, regions[0], book["prices"][cloud][cls])]
    book["date"] = dt.date.today().isoformat()
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clouds", default=",".join(REFRESHERS))
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    book = json.loads(PRICES.read_text())
    kept = refresh(book, args.clouds.split(","))
    for k in kept:
        print(f"kept: {k}")
    if not args.dry_run:
        PRICES.write_text(json.dumps(book, indent=1) + "\n")
        print(f"wrote {PRICES} ({book['date']})")


if __name__ == "__main__":
    main()
