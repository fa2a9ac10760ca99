"""The PACT 2.3.0 data model's ProductFootprint and CarbonFootprint, as JSON Schema: the
required fields, enums and patterns transcribed from the WBCSD's published specification
(the ``pact-openapi-2.3.0.yaml`` of its pact-openapi repository, components/schemas),
so that a footprint this project writes is checked against what it did not write."""

from __future__ import annotations

from typing import Any

URN = {"type": "string", "pattern": "^([uU][rR][nN]):"}
NON_EMPTY = {"type": "string", "minLength": 1}
POSITIVE_NON_ZERO = {"type": "string",
                     "pattern": r"^[+]?(\d*[1-9]\d*)(\.\d+)?|(0+\.\d*[1-9]\d*)$"}
POSITIVE_OR_ZERO = {"type": "string", "pattern": r"^[+]?\d+(\.\d+)?$"}
DECIMAL = {"type": "string", "pattern": r"^[+-]?\d+(\.\d+)?$"}
PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
DATE_TIME = {"type": "string", "format": "date-time"}

CARBON_FOOTPRINT: dict[str, Any] = {
    "type": "object",
    "required": ["declaredUnit", "unitaryProductAmount", "referencePeriodStart",
                 "referencePeriodEnd", "pCfExcludingBiogenic", "fossilGhgEmissions",
                 "fossilCarbonContent", "biogenicCarbonContent", "characterizationFactors",
                 "ipccCharacterizationFactorsSources", "crossSectoralStandardsUsed",
                 "boundaryProcessesDescription", "exemptedEmissionsPercent",
                 "exemptedEmissionsDescription", "packagingEmissionsIncluded"],
    "properties": {
        "declaredUnit": {"type": "string", "enum": [
            "liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule",
            "ton kilometer", "square meter"]},
        "unitaryProductAmount": POSITIVE_NON_ZERO,
        "pCfExcludingBiogenic": POSITIVE_OR_ZERO,
        "pCfIncludingBiogenic": DECIMAL,
        "fossilGhgEmissions": POSITIVE_OR_ZERO,
        "fossilCarbonContent": POSITIVE_OR_ZERO,
        "biogenicCarbonContent": POSITIVE_OR_ZERO,
        "characterizationFactors": {"type": "string", "enum": ["AR6", "AR5"]},
        "ipccCharacterizationFactorsSources": {
            "type": "array", "minItems": 1, "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^AR\d+$"}},
        "crossSectoralStandardsUsed": {
            "type": "array", "minItems": 1, "uniqueItems": True,
            "items": {"type": "string", "enum": [
                "GHG Protocol Product standard", "ISO Standard 14067",
                "ISO Standard 14044"]}},
        "boundaryProcessesDescription": {"type": "string"},
        "referencePeriodStart": DATE_TIME,
        "referencePeriodEnd": DATE_TIME,
        "geographyCountry": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "exemptedEmissionsPercent": {**PERCENT, "maximum": 5},
        "exemptedEmissionsDescription": {"type": "string"},
        "packagingEmissionsIncluded": {"type": "boolean"},
        "primaryDataShare": PERCENT,
    },
}

PRODUCT_FOOTPRINT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "specVersion", "version", "created", "status", "comment",
                 "companyName", "companyIds", "productDescription", "productIds",
                 "productCategoryCpc", "productNameCompany", "pcf"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "specVersion": {"type": "string", "pattern": r"^\d+\.\d+\.\d+(-\d{8})?$"},
        "version": {"type": "integer", "minimum": 0},
        "created": DATE_TIME,
        "status": {"type": "string", "enum": ["Active", "Deprecated"]},
        "companyName": NON_EMPTY,
        "companyIds": {"type": "array", "minItems": 1, "uniqueItems": True, "items": URN},
        "productDescription": {"type": "string"},
        "productIds": {"type": "array", "minItems": 1, "uniqueItems": True, "items": URN},
        "productCategoryCpc": NON_EMPTY,
        "productNameCompany": NON_EMPTY,
        "comment": {"type": "string"},
        "pcf": CARBON_FOOTPRINT,
    },
}
