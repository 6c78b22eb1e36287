"""The national frameworks findings and recommendations are organised by.

* The **National Combating Drugs Outcomes Framework** (HM Government, "From Harm to Hope:
  a 10-year drugs plan to cut crime and save lives", 2021, and its outcomes framework,
  2022): three strategic outcomes supported by intermediate outcomes.
* **Box 6** of "From Harm to Hope: guidance for local delivery partners" (2022): the
  local commitments under the strategy's three priorities.

Indicators carry ``outcome=`` one of :data:`OUTCOMES`; recommendations carry a
``priority`` from :data:`STRATEGY_PRIORITIES` and a ``commitment`` from
:data:`COMMITMENTS`.
"""

from __future__ import annotations

__all__ = [
    "COMMITMENTS",
    "OUTCOMES",
    "STRATEGIC_OUTCOMES",
    "STRATEGY_PRIORITIES",
    "UNITS",
]

#: Strategic outcomes of the National Combating Drugs Outcomes Framework.
STRATEGIC_OUTCOMES = (
    "Reduce drug use",
    "Reduce drug-related crime",
    "Reduce drug-related deaths and harm",
)

#: Intermediate outcomes of the framework.
INTERMEDIATE_OUTCOMES = (
    "Reduce drug supply",
    "Increase engagement in drug and alcohol treatment",
    "Improve drug recovery outcomes",
)

#: Every outcome an indicator may be filed under (strategic, then intermediate).
OUTCOMES = STRATEGIC_OUTCOMES + INTERMEDIATE_OUTCOMES

#: The strategy's three priorities.
STRATEGY_PRIORITIES = (
    "Break drug supply chains",
    "Deliver a world-class treatment and recovery system",
    "Achieve a generational shift in the demand for drugs",
)

#: Box 6 local commitments, by strategy priority.
COMMITMENTS = {
    "Break drug supply chains": (
        "Break drug supply chains",
    ),
    "Deliver a world-class treatment and recovery system": (
        "Treatment services",
        "Workforce",
        "Integration and joint working",
        "Housing",
        "Employment",
        "Criminal justice referrals into treatment",
        "Continuity of care after prison",
    ),
    "Achieve a generational shift in the demand for drugs": (
        "Consequences for drug use",
        "School-based prevention and relationships education",
        "Support for young people and families most at risk",
    ),
}

#: Unit strings used by recorded indicators (findings format numbers by unit).
UNITS = ("%", "per 100,000", "per 1,000", "per 10,000", "days", "people", "ratio", "number")
