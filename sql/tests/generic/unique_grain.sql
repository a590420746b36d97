{#- A model's grain: one row per combination of `columns`, none of them null. Returns the
    offending keys (with how many rows carry each) so a failure shows what is wrong. -#}
{% test unique_grain(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
    {%- for column in columns %} or {{ column }} is null{% endfor %}
{% endtest %}
