"""The demo corpus: the world of the learner's notes, small enough to learn by heart in seconds.

    python3 corpus/make_corpus.py > corpus.txt

What it holds, and why:
- dog, cat, puppy and kitten fill the same slots ("I have a dog .", "the cat is cute .",
  "feed the puppy ."), so their embeddings end up close together;
- each of them also appears in the plural in the same slots with plural words around it
  ("two dogs", "the dogs are"), so cats - cat points the way dogs - dog does;
- female and male words (woman man, aunt uncle, mother father, sister brother, girl boy,
  queen king) appear in exactly parallel sentences, with "she"/"her" around the female word and
  "he"/"his" around the male one, so aunt - uncle can line up with woman - man;
- coffee and tea share "I drink ___ every morning";
- each pair also has two sentences of its own, the same for both words ("the queen rules the
  kingdom .", "the king rules the kingdom ."), so what woman and man share apart from being female
  or male is their own: uncle → aunt as man → ? then points at woman, not at girl;
- apple is one token with two senses: the fruit (eat, ripe, sweet, pie, juice, tree) and the
  company (announced, shares, phones, earnings); the two senses never share a sentence, so the
  one row of W_E serves both. The sense shows in the words before "apple" and decides the word
  after it ("apple pie", "apple phones"), so the blocks must tell the senses apart from the
  neighbours to predict well;
- "greenhouse gas" and "ghg" are used interchangeably in the same sentences.

Everything is lowercase except "I".

The order is learnable: the corpus is a fixed sequence of short paragraphs, each about one
subject, built from the same few templates in the same order, and each paragraph ends by naming
the next subject ("next , the cat ."). So from the last few words a model can always tell what
comes next, and a small model can memorise the whole text. No randomness: the output is the same
every run.
"""

PETS = [("dog", "dogs"), ("cat", "cats"), ("puppy", "puppies"), ("kitten", "kittens"),
        ("rabbit", "rabbits"), ("horse", "horses")]

PEOPLE = [("woman", "man"), ("aunt", "uncle"), ("mother", "father"), ("sister", "brother"),
          ("girl", "boy"), ("queen", "king"), ("daughter", "son"), ("niece", "nephew"),
          ("wife", "husband"), ("grandmother", "grandfather")]

# What each pair shares besides she or he: one sentence at home, one outside, the same for both words.
PAIR_TRAITS = {
    "woman": ("the {} is an adult .", "every {} was once a child ."),
    "aunt": ("the {} visits us every summer .", "the {} brings presents for the cousins ."),
    "mother": ("the {} cooks dinner for the children .", "the {} waits for the children after school ."),
    "sister": ("the {} plays games with me .", "the {} and I share a room ."),
    "girl": ("the {} goes to school .", "the {} is seven years old ."),
    "queen": ("the {} rules the kingdom .", "the {} lives in the palace ."),
    "daughter": ("the {} is the youngest child .", "the {} grew up in this house ."),
    "niece": ("the {} comes with the cousins .", "the {} is the child of my brother ."),
    "wife": ("the {} wears a wedding ring .", "the {} married in the spring ."),
    "grandmother": ("the {} is very old .", "the {} tells stories of the old days ."),
}

DRINKS = ["coffee", "tea"]

GASES = ["greenhouse gas", "ghg"]


def pet_singular(pet):
    return [f"I have a {pet} .", f"the {pet} is cute .", f"I feed the {pet} every morning .",
            f"the {pet} sleeps on the mat .", f"my {pet} is small and happy ."]


def pet_singular_outside(pet):
    return [f"a {pet} runs in the park .", f"this {pet} plays in the garden .", f"the {pet} is hungry again .",
            f"I walk with the {pet} after lunch .", f"one {pet} is enough for me ."]


def pet_plural(pets):
    return [f"I have two {pets} .", f"the {pets} are cute .", f"I feed the {pets} every morning .",
            f"the {pets} sleep on the mat .", f"my {pets} are small and happy ."]


def pet_plural_outside(pets):
    return [f"many {pets} run in the park .", f"these {pets} play in the garden .", f"the {pets} are hungry again .",
            f"I walk with the {pets} after lunch .", f"three {pets} are too many for me ."]


def person(word, pronoun, possessive, trait):
    return [trait[0].format(word), f"the {word} is kind .", f"{pronoun} reads {possessive} book every morning .",
            f"{pronoun} walks {possessive} dog in the park .", f"the {word} said {pronoun} was happy .",
            f"I like the {word} and {possessive} family ."]


def person_outside(word, pronoun, possessive, trait):
    return [trait[1].format(word), f"my {word} lives in the city .", f"{pronoun} drives {possessive} car to work .",
            f"{pronoun} calls {possessive} friends in the evening .", f"the {word} told me {pronoun} was busy .",
            f"I visit my {word} and {possessive} garden ."]


def drink(name):
    return [f"I drink {name} every morning .", f"the {name} is hot .", f"I like {name} with milk .",
            f"a cup of {name} makes me happy ."]


def drink_outside(name):
    return [f"we drink {name} after lunch .", f"this {name} is too strong .", f"she makes {name} for her family .",
            f"he makes {name} for his family ."]


def fruit():
    return ["I eat an apple pie every day .", "the ripe apple tastes sweet .", "the apple fell from the tree .",
            "my mother makes apple pie and apple juice .", "I have two apples .", "the apples are sweet and ripe .",
            "we grow an apple tree in the garden .", "a red apple tastes fresh ."]


def company():
    # The words that settle the sense come before "apple" (a GPT's row for a word sees only the words
    # before it), and the word after it depends on the sense: to predict it, the row must know which.
    return ["the company apple announced new phones today .", "shares of apple stock rose after the earnings .",
            "people buy apple phones in the shop .", "the phone maker apple sells phones and computers .",
            "investors watch apple shares every year .", "the company apple is big ."]


def fruit_outside():
    return ["she bakes an apple pie for her family .", "we buy apple juice at the market .",
            "the apple tree grows in the sun .", "a green apple tastes sour .", "the apples fell from the tree ."]


def company_outside():
    return ["the company apple makes new computers .", "investors sold apple shares after the news .",
            "many people use apple phones at work .", "the news said apple stock fell .",
            "the phone maker apple opened a new shop ."]


def gas(name):
    return [f"{name} emissions rose this year .", f"factories release {name} .",
            f"we must cut {name} emissions .", f"cars and factories make {name} ."]


def gas_outside(name):
    return [f"the report counts {name} from every country .", f"{name} traps heat in the air .",
            f"trees help to remove {name} .", f"less {name} means a cooler planet ."]


def paragraphs():
    """(subject, sentences) in the corpus order. Pets and people come twice, at home and outside,
    and outside comes last: the tail that training holds out (its last tenth) then uses only words
    that training has seen, in sentences it has not."""
    items = []
    for template in [drink, drink_outside]:
        for name in DRINKS:
            items.append((name, template(name)))
    items.append(("the apple", fruit()))
    items.append(("apple the company", company()))
    for template in [gas, gas_outside]:
        for name in GASES:
            items.append((name, template(name)))
    items.append(("the apple", fruit_outside()))
    items.append(("apple the company", company_outside()))
    for pet_template, people_template in [(pet_singular, person), (pet_singular_outside, person_outside)]:
        plural_template = pet_plural if pet_template is pet_singular else pet_plural_outside
        for singular, plural in PETS:
            items.append((f"the {singular}", pet_template(singular)))
            items.append((f"the {plural}", plural_template(plural)))
        for female, male in PEOPLE:
            trait = PAIR_TRAITS[female]
            items.append((f"the {female}", people_template(female, "she", "her", trait)))
            items.append((f"the {male}", people_template(male, "he", "his", trait)))
    return items


def main():
    items = paragraphs()
    lines = []
    for i, (subject, sentences) in enumerate(items):
        following = items[(i + 1) % len(items)][0]
        lines.append(" ".join(sentences + [f"next , {following} ."]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
