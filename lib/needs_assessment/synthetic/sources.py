"""Published magnitudes the synthetic areas are scaled to.

Every number here is either copied from a published source or rounded from one; the source
of each is given in ``data/README.md`` (synthetic areas) under the key named in the comment
(e.g. ``[S1]``). Nothing in this module is random: the generator in
:mod:`needs_assessment.synthetic.areas` draws from these shapes with a seeded generator.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------
# Population structure
# --------------------------------------------------------------------------------------------
#: Census 2021 usual residents by single year of age 0..89 and 90+ (TS007), England. [S1]
AGE_ENGLAND_2021 = np.array(
    [578988, 605935, 619034, 626362, 646631, 658689, 650561, 658862, 686130, 694459,
     694521, 687720, 685258, 682623, 663207, 644114, 649461, 642047, 633055, 650218,
     649299, 668329, 687528, 698292, 711002, 711905, 727406, 742890, 756337, 776742,
     797928, 788788, 790637, 799057, 776175, 776446, 767279, 753532, 748859, 749272,
     766198, 754198, 714352, 672556, 673102, 682808, 699709, 710495, 740039, 769592,
     785291, 768746, 786290, 781398, 786029, 784118, 783957, 765136, 748635, 724523,
     701394, 666435, 652427, 632317, 603422, 576028, 560611, 559979, 540680, 530198,
     529681, 539464, 547932, 593125, 586445, 441363, 461253, 420043, 387810, 328305,
     306469, 309591, 292597, 270464, 246962, 220591, 196082, 170829, 152212, 132774,
     499812],
    dtype=float,
)

#: Census 2021 usual residents by single year of age 0..89 and 90+ (TS007), Tower Hamlets:
#: the shape of the young, inner-London borough the unitary variant imitates. [S1]
AGE_INNER_LONDON_2021 = np.array(
    [3970, 3880, 3702, 3683, 3855, 3503, 3431, 3480, 3618, 3626, 3474, 3613, 3447, 3481, 3380,
     3280, 3365, 3403, 3628, 4689, 5013, 5393, 6066, 7170, 8346, 8667, 9009, 8925, 8785, 9091,
     9058, 8519, 8246, 7778, 7103, 6742, 6265, 5907, 5466, 5396, 5177, 4774, 4396, 4148, 4144,
     3845, 3732, 3693, 3278, 2993, 2957, 2836, 2833, 2740, 2554, 2301, 2197, 2302, 2093, 1942,
     1796, 1830, 1650, 1646, 1522, 1383, 1294, 1118, 1188, 1062, 1039, 884, 851, 782, 778,
     650, 583, 535, 545, 484, 516, 490, 417, 421, 383, 335, 298, 260, 230, 193, 752],
    dtype=float,
)

#: Male share of residents by age (Census 2021, England): ages 16+ from RM122 (sex x 8 age
#: bands); 0-15 from the sex ratio at birth (~105 boys per 100 girls). [S2]
_MALE_SHARE_BANDS = (
    (0, 15, 0.512),
    (16, 24, 0.5064),
    (25, 34, 0.4859),
    (35, 44, 0.4875),
    (45, 54, 0.4926),
    (55, 64, 0.4916),
    (65, 74, 0.4805),
    (75, 84, 0.445),
    (85, 89, 0.385),
    (90, 90, 0.30),
)
MALE_SHARE_BY_AGE = np.zeros(91)
for _lo, _hi, _share in _MALE_SHARE_BANDS:
    MALE_SHARE_BY_AGE[_lo : _hi + 1] = _share

#: Mid-year population, England (ONS mid-2022 estimate, rounded). [S3]
ENGLAND_POPULATION_2022 = 57_106_000
#: Number of LSOAs (2021) in England, as in the English Indices of Deprivation 2025. [S4]
ENGLAND_SMALL_AREAS = 33_755

#: IMD 2025 score at 2.5-percentile steps of the national rank (0 = most deprived LSOA,
#: 1 = least deprived), England. Used to turn a synthetic national percentile into a score. [S4]
IMD_SCORE_AT_PERCENTILE = np.array(
    [94.223, 61.632, 54.256, 49.003, 44.912, 41.475, 38.29, 35.695, 33.51, 31.479, 29.669,
     28.04, 26.604, 25.224, 23.943, 22.7, 21.539, 20.479, 19.4, 18.369, 17.45, 16.511, 15.686,
     14.914, 14.14, 13.332, 12.549, 11.835, 11.135, 10.417, 9.689, 9.032, 8.379, 7.666, 6.954,
     6.186, 5.462, 4.701, 3.769, 2.761, 0.165]
)
IMD_PERCENTILE_KNOTS = np.linspace(0.0, 1.0, IMD_SCORE_AT_PERCENTILE.size)

# --------------------------------------------------------------------------------------------
# Protected characteristics (Census 2021)
# --------------------------------------------------------------------------------------------
ETHNICITY = ("asian", "black", "mixed", "white", "other")
#: Broad ethnic group shares among the non-White population, England (TS021). [S5]
NON_WHITE_MIX_ENGLAND = {"asian": 0.507, "black": 0.223, "mixed": 0.156, "other": 0.115}
#: ... and in Tower Hamlets (TS021), for the unitary variant. [S5]
NON_WHITE_MIX_INNER_LONDON = {"asian": 0.733, "black": 0.121, "mixed": 0.082, "other": 0.064}
#: Non-White share of residents: England 19.0%, Tower Hamlets 60.6% (TS021). [S5]
NON_WHITE_SHARE_ENGLAND = 0.190
NON_WHITE_SHARE_INNER_LONDON = 0.606

RELIGION = ("no_religion", "christian", "buddhist", "hindu", "jewish", "muslim", "sikh",
            "other", "not_stated")
#: Religion (TS030), all usual residents. [S6]
RELIGION_ENGLAND = (0.3667, 0.4632, 0.0046, 0.0181, 0.0048, 0.0673, 0.0092, 0.0059, 0.0602)
RELIGION_INNER_LONDON = (0.2663, 0.2231, 0.0095, 0.0203, 0.0043, 0.3993, 0.0031, 0.0053,
                         0.0687)

SEXUAL_ORIENTATION = ("heterosexual", "gay_or_lesbian", "bisexual", "other", "not_stated")
#: Sexual orientation, residents aged 16+ (TS077/detailed release); "other" = pansexual,
#: asexual, queer and all other orientations. [S7]
SEXUAL_ORIENTATION_ENGLAND = (0.8937, 0.0154, 0.0129, 0.0035, 0.0745)
SEXUAL_ORIENTATION_INNER_LONDON = (0.8307, 0.0396, 0.0252, 0.0069, 0.0976)

GENDER_IDENTITY = ("yes", "no", "not_stated")  # gender identity the same as sex at birth?
#: Gender identity (RM163), residents aged 16+. [S8]
GENDER_IDENTITY_ENGLAND = (0.9347, 0.0055, 0.0598)
GENDER_IDENTITY_INNER_LONDON = (0.9066, 0.0105, 0.0829)

DISABILITY = ("yes", "no")
#: Disabled under the Equality Act (TS038), all usual residents. [S9]
DISABILITY_ENGLAND = (0.173, 0.827)
DISABILITY_INNER_LONDON = (0.1293, 0.8707)

MARITAL_STATUS = ("never_married", "married_or_civil_partnership", "separated",
                  "divorced_or_dissolved", "widowed")
#: Legal partnership status by age (residents 16+). The age pattern is illustrative; its
#: England margins match RM127 (never married 37.9%, married or civil partnership 44.7%,
#: separated 2.3%, divorced 9.1%, widowed 6.1%) to within ~1.5 points. [S10]
MARITAL_BY_AGE = (
    (16, 29, (0.85, 0.13, 0.01, 0.01, 0.00)),
    (30, 49, (0.40, 0.48, 0.04, 0.075, 0.005)),
    (50, 64, (0.18, 0.60, 0.03, 0.15, 0.04)),
    (65, 90, (0.06, 0.52, 0.015, 0.12, 0.285)),
)

#: Share of women aged 15-44 pregnant at a point in time: ~590,000 live births a year in
#: England over ~10.7 million women aged 15-44, times 0.75 of a year of pregnancy. [S11]
PREGNANT_SHARE_WOMEN_15_44 = 0.04

# --------------------------------------------------------------------------------------------
# Hidden populations in need of treatment
# --------------------------------------------------------------------------------------------
#: Opiate and/or crack cocaine users per 1,000 aged 15-64, England 2016/17 (Hay et al. 2019:
#: 313,971 OCU, 8.9 per 1,000; revised series 9.2-9.5). [S12]
OCU_PER_1000_15_64 = 9.0
#: Share of OCU who are male (Hay et al.: about three quarters). [S12]
OCU_MALE_SHARE = 0.73
#: Alcohol-dependent adults, share of the 18+ population (Pryce et al. 2017: 595,131, 1.39%). [S13]
ALCOHOL_DEPENDENT_SHARE_18PLUS = 0.014
#: Men are about 70% of dependent drinkers (Pryce et al. 2017: 2.0% of men, 0.8% of women). [S13]
ALCOHOL_MALE_SHARE = 0.70
#: Adults with a non-opiate drug dependence needing treatment, per 1,000 aged 18-64. No
#: official estimate exists; chosen so that adults in non-opiate treatment come out near the
#: ~87,000 a year NDTMS reports for England. Illustrative. [S14]
NON_OPIATE_PER_1000_18_64 = 6.0
#: Young people (12-17) needing specialist substance treatment, per 1,000 aged 12-17;
#: illustrative, chosen so that ~11,000 a year are in treatment in England. [S14]
YOUNG_PEOPLE_PER_1000_12_17 = 8.0

# --------------------------------------------------------------------------------------------
# Mortality and admissions (rates per 100,000 per year, England)
# --------------------------------------------------------------------------------------------
#: Deaths from drug misuse, England 2021-23, age-standardised per 100,000 (OHID 92432). [S15]
DRUG_MISUSE_DEATHS_PER_100K = 5.5
#: Drug poisoning deaths are ~1.5 times misuse deaths (E&W 2023: 5,448 vs 3,618). [S15]
DRUG_POISONING_TO_MISUSE = 1.45
#: Alcohol-specific deaths, England 2023, per 100,000 (ONS). [S16]
ALCOHOL_SPECIFIC_DEATHS_PER_100K = 15.0
#: Admission episodes for alcohol-specific conditions, England 2023/24: 339,916 admissions,
#: ~590 per 100,000 (OHID alcohol profile, Feb 2025). [S17]
ALCOHOL_SPECIFIC_ADMISSIONS_PER_100K = 590.0
#: Admissions with a primary diagnosis of poisoning by drug misuse (31 per 100,000) and of
#: drug-related mental and behavioural disorders (12 per 100,000), England 2019/20. [S18]
DRUG_POISONING_ADMISSIONS_PER_100K = 31.0
DRUG_MENTAL_BEHAVIOURAL_ADMISSIONS_PER_100K = 12.0

#: The 2013 European Standard Population (per 100,000), 19 bands 0-4 .. 85-89, 90+. [S19]
ESP2013 = np.array([5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500,
                    6000, 5500, 5000, 4000, 2500, 1500, 1000], dtype=float)
AGE_BANDS = ("0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
             "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89",
             "90+")

# Relative age-sex rate shapes by ESP band (female = 1 unit of the male shape times the
# ratio). Drug misuse deaths peak at 40-49 and are about two thirds male; alcohol-specific
# deaths peak at 55-64, about two thirds male. Shapes approximate ONS age-specific rates. [S15][S16]
DRUG_MISUSE_AGE_SHAPE = np.array([0, 0, 0.02, 0.6, 2.5, 5.5, 9.0, 12.0, 14.5, 14.5, 12.0, 8.5,
                                  5.0, 2.5, 1.0, 0.5, 0.3, 0.2, 0.1])
DRUG_POISONING_OTHER_AGE_SHAPE = np.array([0.05, 0.02, 0.05, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5,
                                           5.0, 5.0, 4.5, 4.0, 4.0, 4.5, 5.0, 5.5, 6.0])
ALCOHOL_DEATH_AGE_SHAPE = np.array([0, 0, 0, 0.05, 0.3, 1.0, 3.0, 7.0, 13.0, 22.0, 33.0, 42.0,
                                    46.0, 43.0, 36.0, 28.0, 20.0, 14.0, 10.0])
ALCOHOL_ADMISSION_AGE_SHAPE = np.array([2, 2, 20, 180, 300, 380, 520, 700, 850, 1000, 1100, 1100,
                                        1000, 850, 700, 550, 450, 400, 350], dtype=float)
DRUG_POISONING_ADMISSION_AGE_SHAPE = np.array([8, 2, 20, 75, 60, 50, 48, 45, 40, 36, 32, 25, 18,
                                               14, 12, 12, 12, 12, 12], dtype=float)
DRUG_MBD_ADMISSION_AGE_SHAPE = np.array([0, 0, 2, 15, 30, 30, 28, 25, 20, 15, 10, 6, 3, 1, 1,
                                         0.5, 0.5, 0.5, 0.5])
#: Male rate / female rate for each measure (two thirds male -> ~2). [S15][S16][S17][S18]
MALE_TO_FEMALE = {
    "drug_misuse": 2.1,
    "drug_poisoning_other": 0.8,
    "alcohol_specific_death": 1.9,
    "alcohol_specific_admission": 1.9,
    "drug_poisoning_admission": 0.9,
    "drug_mental_behavioural_admission": 2.3,
}

# --------------------------------------------------------------------------------------------
# Crime (police recorded crime and ASB, England and Wales, per 1,000 residents a year)
# --------------------------------------------------------------------------------------------
#: Approximate rates per 1,000 residents a year, year ending March 2024 (ONS Crime in England
#: and Wales; Drugs: 181,421 offences = 3.0 per 1,000). ASB = police-recorded incidents. [S20]
CRIME_RATES_PER_1000 = {
    "Anti-social behaviour": 17.0,
    "Bicycle theft": 1.1,
    "Burglary": 4.2,
    "Criminal damage and arson": 8.5,
    "Drugs": 3.0,
    "Other crime": 1.5,
    "Other theft": 7.0,
    "Possession of weapons": 1.0,
    "Public order": 7.5,
    "Robbery": 1.3,
    "Shoplifting": 7.3,
    "Theft from the person": 1.9,
    "Vehicle crime": 6.0,
    "Violence and sexual offences": 35.0,
}

# --------------------------------------------------------------------------------------------
# Treatment (NDTMS, England)
# --------------------------------------------------------------------------------------------
#: Referral-source mix of new presentations by group (approximate, from the OHID adult
#: treatment statistics 2023-24 referral-source tables: self-referral ~40% overall, highest
#: for alcohol; criminal justice ~15-20% for opiates). Prison referrals are generated only
#: from prison releases. [S21]
REFERRAL_SOURCES = ("self", "gp", "hospital", "a_and_e", "probation",
                    "police_custody_liaison_diversion", "social_care", "education", "other")
REFERRAL_MIX = {
    "ocu": (0.40, 0.08, 0.04, 0.02, 0.12, 0.07, 0.05, 0.00, 0.22),
    "non_opiate": (0.38, 0.09, 0.03, 0.02, 0.10, 0.08, 0.08, 0.02, 0.20),
    "alcohol": (0.45, 0.18, 0.08, 0.04, 0.03, 0.02, 0.05, 0.00, 0.15),
    "young_people": (0.12, 0.04, 0.02, 0.02, 0.02, 0.10, 0.25, 0.33, 0.10),
}

#: England comparator values (latest published, approximate where marked in the sources md).
ENGLAND_COMPARATORS = {
    "opiate_completion_pct": 5.0,  # [S22]
    "non_opiate_completion_pct": 30.5,  # [S22]
    "alcohol_completion_pct": 34.5,  # [S22]
    "prison_continuity_pct": 40.7,  # [S23]
    "ocu_unmet_need_pct": 52.0,  # [S24]
    "alcohol_unmet_need_pct": 78.0,  # [S24]
    "non_opiate_unmet_need_pct": 75.0,  # illustrative, no published estimate [S24]
}

#: Adults released from prison with a substance misuse treatment need, England, a year
#: (approximately 30,000-40,000; OHID secure-settings statistics). [S23]
PRISON_RELEASES_WITH_NEED_ENGLAND = 35_000
